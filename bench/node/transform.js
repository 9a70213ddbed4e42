#!/usr/bin/env node
// The benchmark's Node side: the same subscriptions through Segment's published engine.
// Per line: JSON.parse, `validate(parseFql(trigger), event)` for each subscription (parsed
// once), `transform(mapping, event)` for the matching ones, and JSON.stringify of the result
// (its length is summed so nothing is optimised away).
//
//   node bench/node/transform.js NODE-MAPPING.json EVENTS.ndjson
//
// NODE-MAPPING.json is written by bench/node_mapping.py: [{name, trigger, mapping}, ...].
'use strict'

const fs = require('fs')
const { transform } = require('@segment/actions-core/mapping-kit')
const { parseFql, validate } = require('@segment/destination-subscriptions')

function subscriptions(path) {
  return JSON.parse(fs.readFileSync(path, 'utf8')).map((sub) => {
    const ast = parseFql(sub.trigger)
    if (ast.error) throw new Error(`${sub.name}: cannot parse trigger: ${ast.error.message}`)
    return { name: sub.name, ast, mapping: sub.mapping }
  })
}

// Lines of a file as strings, read synchronously in 1 MiB blocks (faster than readline).
function* lines(path) {
  const fd = fs.openSync(path, 'r')
  const block = Buffer.alloc(1 << 20)
  let carry = Buffer.alloc(0)
  try {
    for (;;) {
      const read = fs.readSync(fd, block, 0, block.length, null)
      if (read === 0) break
      const data = carry.length ? Buffer.concat([carry, block.subarray(0, read)]) : block.subarray(0, read)
      let start = 0
      let end
      while ((end = data.indexOf(10, start)) !== -1) {
        if (end > start) yield data.toString('utf8', start, end)
        start = end + 1
      }
      carry = Buffer.from(data.subarray(start))
    }
    if (carry.length) yield carry.toString('utf8')
  } finally {
    fs.closeSync(fd)
  }
}

function main([mappingPath, eventsPath]) {
  if (!mappingPath || !eventsPath) {
    console.error('usage: transform.js NODE-MAPPING.json EVENTS.ndjson')
    process.exit(2)
  }
  const subs = subscriptions(mappingPath)
  const started = process.hrtime.bigint()
  let events = 0
  let matched = 0
  let failed = 0
  let bytes = 0
  for (const line of lines(eventsPath)) {
    const event = JSON.parse(line)
    events += 1
    for (const sub of subs) {
      if (!validate(sub.ast, event)) continue
      matched += 1
      try {
        bytes += JSON.stringify(transform(sub.mapping, event)).length
      } catch (error) {
        failed += 1
      }
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  console.log(JSON.stringify({ events, matched, failed, bytes, elapsed }))
}

main(process.argv.slice(2))
