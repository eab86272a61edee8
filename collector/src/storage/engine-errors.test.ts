import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropDatabase, testConfig, testStorage } from '../testing/harness.js'
import type { Storage } from './client.js'
import { classifyInsertError, engineReason, type InsertTrouble } from './engine-errors.js'
import { rowInserter } from './insert.js'

let storage: Storage
let table: string
beforeAll(async () => {
  storage = testStorage(testConfig())
  table = `${storage.database}.numbers`
  await storage.client.command({ query: `CREATE DATABASE ${storage.database}` })
  await storage.client.command({
    query: `CREATE TABLE ${table} (n UInt32, at DateTime64(9), s String DEFAULT '') ENGINE = MergeTree ORDER BY n`,
  })
})
afterAll(() => dropDatabase(storage))

/** What the engine's refusal of `rows` into `into` means, and its reason. */
async function refusal(rows: string, into = table): Promise<[InsertTrouble, string]> {
  try {
    await rowInserter(storage)(into, 'JSONEachRow', [Buffer.from(rows)])
  } catch (err) {
    return [classifyInsertError(err), engineReason(err as Error)]
  }
  throw new Error('stored')
}

describe('an insert the engine refuses', () => {
  it('is about the rows only when the engine says the data is wrong', async () => {
    expect(await refusal('{"n":"seven"}\n')).toEqual([
      'rows',
      expect.stringMatching(/^Cannot parse input/),
    ])
    expect(await refusal('{"n":-1}\n')).toEqual([
      'rows',
      expect.stringMatching(/must not contain '-'/),
    ])
    expect(await refusal('{"n":1,"at":"9999-12-31 23:59:59"}\n')).toEqual([
      'rows',
      'Decimal math overflow: (while reading the value of key at)',
    ])
    expect(await refusal('{"n":1,"s":"\\ud800"}\n')).toEqual([
      'rows',
      expect.stringMatching(/^Cannot parse escape sequence: missing second part of surrogate pair/),
    ])
    expect(await refusal('{"n":1', table)).toEqual(['rows', expect.any(String)])
  })

  it('is about the store when the table is missing or the disk lacks room', async () => {
    expect(await refusal('{"n":1}\n', `${storage.database}.gone`)).toEqual([
      'store',
      expect.stringMatching(/gone does not exist/),
    ])
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING min_free_disk_bytes_to_perform_insert = 1000000000000000`,
    })
    try {
      expect(await refusal('{"n":1}\n')).toEqual([
        'store',
        expect.stringMatching(/enough free space/),
      ])
    } finally {
      await storage.client.command({
        query: `ALTER TABLE ${table} RESET SETTING min_free_disk_bytes_to_perform_insert`,
      })
    }
  })

  it('is "not now" when inserts outrun merges', async () => {
    await rowInserter(storage)(table, 'JSONEachRow', [Buffer.from('{"n":1}\n')])
    await storage.client.command({ query: `SYSTEM STOP MERGES ${table}` })
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 1`,
    })
    try {
      expect(await refusal('{"n":2}\n')).toEqual(['busy', expect.stringMatching(/^Too many parts/)])
    } finally {
      await storage.client.command({
        query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert`,
      })
    }
  })
})
