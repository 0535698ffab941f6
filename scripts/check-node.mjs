// Fails loudly when the tests would run on a Node.js older than the pinned runtime (vitest 5 needs >= 22; we pin 24).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`herald: Node.js ${process.versions.node} is too old; run through npm scripts so the pinned node@24 devDependency is used (npm ci installs it).`);
  process.exit(1);
}
