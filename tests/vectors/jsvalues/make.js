// Writes jsvalues.json: what JavaScript answers for String(), Number(), Boolean(), typeof,
// realTypeOf, JSON.stringify, == null, == '', Object.keys, trim, length and string search over
// a fixed corpus. Run from this folder with Node 20:  node make.js > jsvalues.json
// Inputs are tagged so Python can build the value it stands for (see tests/test_jsvalues.py):
//   {"$": "int", "text": "..."}    a Python int; JavaScript sees Number(text), the double
//   {"$": "float", "text": "..."}  a Python float; JavaScript sees Number(text) ("-0" is -0)
//   {"$": "undefined"}, {"$": "array", "items": [...]}, {"$": "object", "entries": [[k, v]]}
//   strings, booleans and null as themselves.
'use strict'

// Deterministic generator (xorshift32), so the corpus is the same on every run.
let seed = 0x2545f491
function next() {
  seed ^= seed << 13; seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5; seed >>>= 0
  return seed
}
const pick = (items) => items[next() % items.length]

const floatTexts = [
  '0', '-0', '0.1', '-0.1', '0.5', '1.5', '-2.5', '123.456', '1e21', '1e-7', '1e-6', '1e20',
  '9.999999999999999e20', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308',
  '0.000001', '1234567.890123', '1e+100', '-1e-100', '100.0', '3.0', '4.35', '0.1e1',
  '123456789012345680000', '1.2345678901234567e-7', 'NaN', 'Infinity', '-Infinity',
  '9007199254740992.0', '9007199254740993.5', '4294967295.0', '1e16', '1e15', '25.0',
]
const intTexts = [
  '0', '1', '-1', '42', '255', '1000000', '-987654321', '9007199254740991', '-9007199254740991',
  '9007199254740992', '9007199254740993', '-9007199254740993', '18446744073709551616',
  '123456789012345678901234567890', '1' + '0'.repeat(21), '1' + '0'.repeat(308),
  '1' + '0'.repeat(400), '-' + '9'.repeat(400), '4294967295', '4294967296',
]
const stringCorpus = [
  '', ' ', 'a', 'abc', '0', '-0', '1', ' 42 ', '\t\n 7 \u00a0', '1e3', '.5', '5.', '+5', '-5',
  '0x1F', '0X1f', '0o17', '0b101', '0b', '0x', '1_000', 'Infinity', '-Infinity', '+Infinity',
  'infinity', 'NaN', 'null', 'true', 'false', 'undefined', '12px', '1e1000', '-1e1000',
  '00012', '1.2.3', '\u2028', '\ufeff3\ufeff', '\u3000\u2003', 'héllo', '日本語', '😀',
  'a😀b', '\ud83d', 'x\udc00y', ' padded\t', '[object Object]', '1,2', '9007199254740993',
]
for (let i = 0; i < 30; i++) {
  let s = ''
  const len = next() % 8
  for (let j = 0; j < len; j++) s += pick(['a', 'Z', '0', '7', '.', 'e', '-', '+', ' ', '😀', 'é', 'x', '\u00a0'])
  stringCorpus.push(s)
}
for (let i = 0; i < 40; i++) {
  // random doubles: random mantissa digits and exponent, written as JavaScript writes them
  const digits = String(next()) + String(next())
  const exp = (next() % 60) - 30
  floatTexts.push(String(Number(`${digits.slice(0, 1 + (next() % 17))}e${exp}`)))
  intTexts.push(String((next() % 2 ? -1 : 1) * (next() % 100000)))
}

const input = (tagged) => {
  if (tagged === null || typeof tagged !== 'object') return tagged
  switch (tagged.$) {
    case 'int':
    case 'float':
      return tagged.text === '-0' ? -0 : Number(tagged.text)
    case 'undefined':
      return undefined
    case 'array':
      return tagged.items.map(input)
    case 'object':
      return Object.fromEntries(tagged.entries.map(([k, v]) => [k, input(v)]))
  }
  throw new Error(`unknown tag ${tagged.$}`)
}
const numberText = (n) => (Object.is(n, -0) ? '-0' : String(n))
const num = (text) => ({ $: 'float', text })
const int = (text) => ({ $: 'int', text })

const values = [null, true, false, { $: 'undefined' }]
for (const t of floatTexts) values.push(num(t))
for (const t of intTexts) values.push(int(t))
for (const s of stringCorpus) values.push(s)
const scalars = values.slice()
values.push(
  { $: 'array', items: [] },
  { $: 'array', items: [null] },
  { $: 'array', items: [{ $: 'undefined' }, null, ''] },
  { $: 'array', items: [int('5')] },
  { $: 'array', items: [' 5 '] },
  { $: 'array', items: [num('1e21'), num('-0'), num('NaN'), true, 'x'] },
  { $: 'array', items: [{ $: 'array', items: [int('1'), int('2')] }, int('3')] },
  { $: 'array', items: [{ $: 'object', entries: [] }] },
  { $: 'array', items: [int('1' + '0'.repeat(400))] },
  { $: 'object', entries: [] },
  { $: 'object', entries: [['b', int('1')], ['a', num('2.5')]] },
  { $: 'object', entries: [['b', int('1')], ['10', true], ['2', null], ['01', 'x'], ['-1', 'y'], ['4294967295', 'z'], ['4294967294', 'w']] },
  { $: 'object', entries: [['u', { $: 'undefined' }], ['n', num('NaN')], ['i', num('-Infinity')], ['s', '\ud83d']] },
)
for (let i = 0; i < 40; i++) {
  const items = []
  const len = next() % 4
  for (let j = 0; j < len; j++) items.push(pick(scalars))
  values.push(next() % 2 ? { $: 'array', items } : { $: 'object', entries: items.map((v, j) => [pick(['a', 'b', '0', '3', 'key', '12']) + j, v]) })
}

const cases = values.map((tagged) => {
  const v = input(tagged)
  const json = JSON.stringify(v)
  const out = {
    value: tagged,
    string: String(v),
    number: numberText(Number(v)),
    truthy: Boolean(v),
    typeof: typeof v,
    realTypeOf: Object.prototype.toString.call(v).slice(8, -1).toLowerCase(),
    json: json === undefined ? { $: 'undefined' } : json,
    nullish: v == null,
    looselyEmpty: v == '',
  }
  if (typeof v === 'string') {
    out.trim = v.trim()
    out.length = v.length
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.keys = Object.keys(v)
  return out
})

const searches = []
const haystacks = ['', 'abc', 'a😀b', '😀😀', 'x\udc00y', 'héllo wörld', '\ud83d\ude00', 'aaa']
const needles = ['', 'a', 'b', 'c', '😀', '\ud83d', '\ude00', 'ab', 'llo', 'wörld', 'aa']
for (const h of haystacks) {
  for (const n of needles) {
    searches.push({ haystack: h, needle: n, includes: h.includes(n), startsWith: h.startsWith(n), endsWith: h.endsWith(n) })
  }
}
const slices = []
for (const s of ['', 'abc', 'a😀b', '😀😀', 'héllo']) {
  for (const [start, stop] of [[0, 1], [1, 2], [1, 3], [-1, null], [-2, -1], [0, null], [2, 1], [5, 9], [-9, 2]]) {
    slices.push({ text: s, start, stop, slice: stop === null ? s.slice(start) : s.slice(start, stop) })
  }
}

process.stdout.write(
  JSON.stringify({ generator: `tests/vectors/jsvalues/make.js on Node ${process.version}`, cases, searches, slices }, null, 1) + '\n',
)
