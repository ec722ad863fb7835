// A real Bluesky PDS for Herald's end-to-end test (test/bluesky_test.go),
// with an in-memory PLC directory in the same Node process, on loopback.
// Usage: node run.mjs <pds port> <plc port> <data dir>
// Prints "ready <pds url>" once both answer; runs until killed.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import * as plc from '@did-plc/server'
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

const [pdsPort, plcPort, dataDir] = process.argv.slice(2)
if (!pdsPort || !plcPort || !dataDir) {
  console.error('usage: node run.mjs <pds port> <plc port> <data dir>')
  process.exit(2)
}
fs.mkdirSync(path.join(dataDir, 'blobs'), { recursive: true })

const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: Number(plcPort) })
await plcServer.start()

Object.assign(process.env, {
  PDS_PORT: pdsPort,
  PDS_HOSTNAME: 'localhost',
  PDS_DEV_MODE: 'true',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  PDS_INVITE_REQUIRED: 'false',
  PDS_DID_PLC_URL: `http://127.0.0.1:${plcPort}`,
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blobs'),
  PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
  PDS_ADMIN_PASSWORD: 'admin-' + crypto.randomBytes(8).toString('hex'),
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: crypto.randomBytes(32).toString('hex'),
  PDS_RATE_LIMITS_ENABLED: 'false',
  LOG_ENABLED: 'false',
})
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
console.log(`ready http://127.0.0.1:${pdsPort}`)

const stop = async () => {
  await pds.destroy()
  await plcServer.destroy()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
