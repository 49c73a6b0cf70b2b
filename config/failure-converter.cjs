// The failure converter of runs with encryption on: a failure's message and stack trace travel in
// its encoded attributes, a payload the encryption codec seals, instead of in plaintext. CommonJS
// because Temporal loads it by path twice: require() in the client and worker, webpack in the
// workflow bundle (worker/bundle.ts).
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
