// npm run bench:convert — what the decode threads do to each OTLP protobuf request (decode,
// check, encode Native rows), on one thread, against protobufjs decoding the same request
// alone. No storage and no I/O, so it also runs under valgrind, whose instruction counts do
// not move with the machine's load:
//   BENCH_REQUESTS=120 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//     node --single-threaded collector/dist/bench/convert.js
import { decodeRequest } from '../src/otlp-to-native/proto.js'
import { convertRequest, spanBatch } from './spans.js'

const SPANS_PER_REQUEST = 1000
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000)
const now = BigInt(Date.now()) * 1_000_000n
const payloads = Array.from({ length: 20 }, (_, i) =>
  Buffer.from(spanBatch(SPANS_PER_REQUEST, now - BigInt(i) * 1_000_000_000n)),
)

/** µs per span of `work` over REQUESTS requests, after a tenth as many to warm up. */
function perSpan(work: (body: Buffer) => unknown): number {
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) work(payloads[i % payloads.length]!)
  }
  run(Math.ceil(REQUESTS / 10))
  const t0 = performance.now()
  run(REQUESTS)
  return ((performance.now() - t0) * 1000) / (REQUESTS * SPANS_PER_REQUEST)
}

const decode = perSpan((body) => decodeRequest.traces(body))
const convert = perSpan(convertRequest)
console.log(
  `convert: ${convert.toFixed(2)} µs/span, protobufjs decode alone: ${decode.toFixed(2)} µs/span, ratio: ${(convert / decode).toFixed(2)}`,
)
