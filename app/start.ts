// `npm start`. The desktop app (Electron shell and renderer) and the LAN sync layer are not built
// yet; until they are, this says so plainly and points at what does exist, instead of failing
// with a missing-module error.

const lines = [
  'LAN Notes: the desktop app is not built yet, so there is nothing to open.',
  'What exists today is the sync engine (engine/): try it with',
  '  npm test            every engine test (merge, store, Merkle tree, anti-entropy protocol, simulation)',
  '  npm run bench       anti-entropy, write-throughput and store-open figures',
  'See README.md, "Status".',
];
console.log(lines.join('\n'));
