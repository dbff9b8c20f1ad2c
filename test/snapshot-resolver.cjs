// Tests run from their compiled copies in .build/test; their snapshots live
// beside the TypeScript sources in test/, so that they are committed.
const path = require('node:path');

const build = `${path.sep}.build${path.sep}test${path.sep}`;
const source = `${path.sep}test${path.sep}`;

module.exports = {
  resolveSnapshotPath: (testPath, extension) => path.join(path.dirname(testPath.replace(build, source)), '__snapshots__', path.basename(testPath) + extension),
  resolveTestPath: (snapshotPath, extension) =>
    path.join(path.dirname(path.dirname(snapshotPath)), path.basename(snapshotPath, extension)).replace(source, build),
  testPathForConsistencyCheck: path.join('project', '.build', 'test', 'unit', 'example.spec.js'),
};
