// What other packages may use of storage: opening it, migrating it, describing it.
export {
  describeTarget,
  openStorage,
  StorageOpenError,
  type Storage,
  type StorageTarget,
} from './client.js'
export { migrate, type MigrationReport } from './migrate.js'
