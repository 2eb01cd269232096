// Xen Orchestra's connector (npm xen-api) against a cxapi host.
//
// Usage: node xo.test.mjs URL PASSWORD [auto|json-rpc|xml-rpc]
//
// Connects as root with events watched, waits for the initial fetch, then
// changes pool.name_description through a second client and waits (bounded)
// until the first client's object cache emits an update carrying the new
// value. Also runs barrier() (pool other_config round trip through events)
// and callAsync() (Async. call watched through task events, result parsed as
// XML-RPC). Exits 0 on success; prints the reason and exits 1 otherwise.
// Any warning the library prints (it warns on failed fetches and event
// polls) counts as a failure.

import { createClient } from 'xen-api'

const [url, password, transport = 'auto'] = process.argv.slice(2)
if (url === undefined || password === undefined) {
  console.error('usage: node xo.test.mjs URL PASSWORD [auto|json-rpc|xml-rpc]')
  process.exit(2)
}

const STEP_TIMEOUT_MS = 30e3
const warnings = new Map() // first line -> count; each distinct one printed once
const origWarn = console.warn
console.warn = (...args) => {
  const text = args
    .map(a => (a instanceof Error ? `${a.message}${a.code !== undefined ? ' code=' + a.code : ''}` : String(a)))
    .join(' ')
  const key = text.split('\n')[0]
  const n = warnings.get(key) ?? 0
  warnings.set(key, n + 1)
  if (n === 0) origWarn('library warning:', text)
}

const clients = []

function fail(reason) {
  console.error(`FAIL [${transport}]: ${reason}`)
  if (warnings.size !== 0) {
    console.error(`library warnings:\n  ${[...warnings].map(([w, n]) => `${w} (x${n})`).join('\n  ')}`)
  }
  process.exit(1)
}

function within(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1e3} s: ${what}`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

function describe(error) {
  if (error == null) return String(error)
  const parts = [error.stack || String(error)]
  if (error.code !== undefined) parts.push(`code=${error.code}`)
  if (error.params !== undefined) parts.push(`params=${JSON.stringify(error.params)}`)
  if (error.call !== undefined) parts.push(`call=${JSON.stringify(error.call)}`)
  return parts.join(' ')
}

function newClient(watchEvents) {
  const xapi = createClient({
    url,
    auth: { user: 'root', password },
    allowUnauthorized: true,
    watchEvents,
    transport,
  })
  // xen-api retries a failed event.from only after eventPollDelay; XO
  // (60 s by default) would sit without updates meanwhile, so fail now
  xapi.on('eventFetchingError', error => fail(`event.from failed: ${describe(error)}`))
  clients.push(xapi)
  return xapi
}

async function main() {
  const xapi = newClient(true)
  await within(xapi.connect(), 'connect()')
  await within(xapi.objectsFetched, 'objectsFetched')

  const pool = xapi.pool
  if (pool == null || typeof pool.$ref !== 'string' || !pool.$ref.startsWith('OpaqueRef:')) {
    fail(`xapi.pool missing or without a ref: ${JSON.stringify(pool)}`)
  }
  if (typeof pool.master !== 'string' || typeof pool.other_config !== 'object') {
    fail(`pool record lacks master/other_config: ${JSON.stringify(pool)}`)
  }
  const size = xapi.objects.size
  if (!(size > 0)) fail(`objects.size is ${size} after objectsFetched`)
  const cachedPool = xapi.getObject(pool.$ref, undefined)
  if (cachedPool === undefined || cachedPool.$type !== 'pool') {
    fail(`pool ${pool.$ref} is not in the object cache`)
  }
  const master = xapi.getObject(pool.master, undefined)
  if (master === undefined || master.$type !== 'host') {
    fail(`pool master ${pool.master} is not a cached host object`)
  }
  console.log(`[${transport}] connected: pool ${pool.$ref}, ${size} objects cached, master ${master.name_label}`)

  // a change made by another client must reach this one's cache
  const wanted = 'xo-interop-' + Math.random().toString(36).slice(2)
  const seen = new Promise(resolve => {
    const onUpdate = objects => {
      for (const id in objects) {
        const o = objects[id]
        if (o.$type === 'pool' && o.name_description === wanted) {
          xapi.objects.removeListener('update', onUpdate)
          resolve(o)
          return
        }
      }
    }
    xapi.objects.on('update', onUpdate)
  })
  const other = newClient(false)
  await within(other.connect(), 'second client connect()')
  await within(other.call('pool.set_name_description', pool.$ref, wanted), 'pool.set_name_description')
  const updated = await within(seen, `pool update event with name_description=${wanted}`)
  if (xapi.pool.name_description !== wanted) {
    fail(`xapi.pool.name_description is ${JSON.stringify(xapi.pool.name_description)}, want ${wanted}`)
  }
  console.log(`[${transport}] update event seen: pool ${updated.$ref} name_description=${wanted}`)

  // barrier(): pool.add_to_other_config then wait for its mod event
  await within(xapi.barrier(), 'barrier()')
  console.log(`[${transport}] barrier() ok`)

  // callAsync(): Async. call, task watched through events, result parsed
  const body = 'interop ' + wanted
  const msgRef = await within(
    xapi.callAsync('message.create', 'xo-interop', 1, 'pool', pool.uuid, body),
    'callAsync(message.create)'
  )
  if (typeof msgRef !== 'string' || !msgRef.startsWith('OpaqueRef:')) {
    fail(`callAsync(message.create) returned ${JSON.stringify(msgRef)}`)
  }
  const rec = await within(xapi.call('message.get_record', msgRef), 'message.get_record')
  if (rec.body !== body) fail(`message body ${JSON.stringify(rec.body)}, want ${JSON.stringify(body)}`)
  console.log(`[${transport}] callAsync(message.create) ok: ${msgRef}`)

  if (xapi.watchEventsError !== undefined) {
    fail(`event loop error: ${describe(xapi.watchEventsError)}`)
  }
  await within(Promise.all(clients.map(c => c.disconnect())), 'disconnect()')
  if (warnings.size !== 0) fail('the library printed warnings')
  console.log(`[${transport}] OK`)
  process.exit(0)
}

main().catch(error => fail(describe(error)))
