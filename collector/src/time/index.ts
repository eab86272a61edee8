// What other packages use of Reckon's time handling: the clock, the RFC 3339 reader, and the
// query API's from/to forms.
export { nowNanos, rfc3339Nanos } from './instant.js'
export { BadParam, EARLIEST_NS, LATEST_NS, parseTime, TimeParam } from '../api/time.js'
