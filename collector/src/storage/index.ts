// What other packages may use of storage: opening it, migrating it, describing it.
export {
  describeTarget,
  openStorage,
  StorageOpenError,
  type Storage,
  type StorageTarget,
} from './client.js'
export {
  COLLECTOR,
  migrate,
  MigrationError,
  type ComponentMigrations,
  type Migration,
  type MigrationReport,
} from './migrate.js'
