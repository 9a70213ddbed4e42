#!/usr/bin/env node
// The Segment side of the differential harness: every case of the corpus through Segment's
// published destination code (`Destination.executeAction` / `executeBatch` of actions-core),
// with every HTTP call intercepted by nock and answered from the case's scripted replies.
//
//   node runner.js CORPUS.json RESULTS.json
//
// CORPUS.json is written by harness/corpus.py (see README.md for the shape of a case); the
// results are read by harness/driver.py. Events and replies are JSON *text*, parsed here with
// JSON.parse exactly as Segment's pipeline parses what it receives.
'use strict'

const fs = require('fs')
const nock = require('nock')
const { Destination, defaultValues } = require('@segment/actions-core')

const DESTINATIONS = {}
function destination(slug) {
  if (!DESTINATIONS[slug]) {
    const definition = require(`@segment/action-destinations/dist/destinations/${slug}`).default
    DESTINATIONS[slug] = { definition, instance: new Destination(definition) }
  }
  return DESTINATIONS[slug]
}

// The Segment destination's actions make no HTTP call: each returns `{batch: [message]}` for
// Segment's own Tracking API pipeline. The runner records that as the POST /batch it is.
const SEGMENT_TRACKING = {
  'us-west-2': 'https://api.segment.io/v1',
  'eu-west-1': 'https://events.eu1.segmentapis.com/v1'
}

let current = null // the case being run: its replies and what it recorded

nock.disableNetConnect()
const scope = nock(/.*/).persist()
for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']) {
  scope.intercept(() => true, method).reply(function (path) {
    const url = address(this.req.options, path)
    const rule = current.replies.find((r) => r.method === method && new RegExp(r.url).test(url))
    const reply = rule || { status: 200, body: '{}' }
    return [reply.status, reply.body, { 'content-type': 'application/json', ...(reply.headers || {}) }]
  })
}
scope.on('request', (req, interceptor, body) => {
  const options = req.options
  const url = address(options, options.path)
  const headers = {}
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = String(value)
  current.requests.push({ method: req.method, url, headers, body: body || '' })
})

// The URL as sent: scheme, host, a port only when it is not the scheme's own, path and query.
function address(options, path) {
  const port = String(options.port || '')
  const standard = options.proto === 'https' ? '443' : '80'
  return `${options.proto}://${options.hostname}${port && port !== standard ? `:${port}` : ''}${path}`
}

function describeError(error) {
  const status = error.response?.status ?? error.status
  return `${error.name || 'Error'}${status ? ` ${status}` : ''}: ${error.message || error}`
}

// With `defaults`, the action's default mapping in field order, a case's own fields replacing
// or following the defaults; otherwise the case's mapping exactly as written (key order kept).
function mappingOf(action, item) {
  if (!item.defaults) return item.mapping
  const defaults = defaultValues(action.fields)
  const mapping = {}
  for (const key of Object.keys(action.fields)) {
    if (key in item.mapping) mapping[key] = item.mapping[key]
    else if (key in defaults) mapping[key] = defaults[key]
  }
  for (const [key, value] of Object.entries(item.mapping)) if (!(key in mapping)) mapping[key] = value
  return mapping
}

async function runCase(item) {
  const { definition, instance } = destination(item.segment_destination)
  const action = definition.actions[item.segment_action]
  const mapping = mappingOf(action, item)
  const events = item.events.map((text) => JSON.parse(text))
  const settings = item.segment_settings
  current = { replies: item.replies, requests: [] }
  const result = { id: item.id }
  if (item.region) process.env.AWS_REGION = item.region
  try {
    if (item.token_url) {
      await instance.refreshAccessToken(settings, { clientId: '', clientSecret: '', accessToken: '', refreshToken: '' })
      result.token_requests = current.requests
      current.requests = []
    }
    const bundle = { mapping, settings, auth: item.auth }
    if (item.segment_destination === 'segment') {
      await segmentTracking(instance, item, bundle, events, result)
    } else if (item.mode === 'batch') {
      const statuses = await instance.executeBatch(item.segment_action, { ...bundle, events })
      result.items = events.map((_, i) => accepted(statuses[i]))
      const failures = (statuses || []).filter((s) => s && !accepted(s)).map((s) => s.errormessage || s.errortype)
      if (failures.length) result.error = [...new Set(failures)].join('; ')
    } else {
      await instance.executeAction(item.segment_action, { ...bundle, event: events[0] })
    }
    result.outcome = 'ok'
  } catch (error) {
    result.outcome = 'error'
    result.error = describeError(error)
    if (item.mode === 'batch') result.items = events.map(() => false)
  }
  result.requests = current.requests
  return result
}

// The Segment destination: each event through executeAction (it has no performBatch); the
// messages it returns become one POST /batch to the Tracking API of the runtime's region.
async function segmentTracking(instance, item, bundle, events, result) {
  const batch = []
  const items = []
  for (const event of events) {
    try {
      const steps = await instance.executeAction(item.segment_action, { ...bundle, event })
      batch.push(...steps[steps.length - 1].data.batch)
      items.push(true)
    } catch (error) {
      if (item.mode !== 'batch') throw error
      result.error = describeError(error)
      items.push(false)
    }
  }
  if (item.mode === 'batch') result.items = items
  if (batch.length) {
    const key = Buffer.from(item.segment_settings.source_write_key + ':').toString('base64')
    current.requests.push({
      method: 'POST',
      url: `${SEGMENT_TRACKING[item.region]}/batch`,
      headers: { authorization: `Basic ${key}` },
      body: JSON.stringify({ batch }),
      synthetic: true
    })
  }
}

function accepted(status) {
  return !status || (status.status >= 200 && status.status < 300)
}

async function main([corpusPath, resultsPath]) {
  if (!corpusPath || !resultsPath) {
    console.error('usage: runner.js CORPUS.json RESULTS.json')
    process.exit(2)
  }
  const corpus = JSON.parse(fs.readFileSync(corpusPath, 'utf8'))
  const results = []
  for (const item of corpus.cases) results.push(await runCase(item))
  const versions = {}
  for (const name of ['@segment/action-destinations', '@segment/actions-core', '@segment/actions-shared', 'nock']) {
    versions[name] = JSON.parse(fs.readFileSync(`${__dirname}/node_modules/${name}/package.json`, 'utf8')).version
  }
  versions.node = process.version
  fs.writeFileSync(resultsPath, JSON.stringify({ versions, results }))
  console.error(`runner: ${results.length} cases through Segment's code`)
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error)
  process.exit(1)
})
