// The jest environment of the integration tier (jest.preset.js): node's, plus one fix.
//
// Jest runs each test file in its own V8 context, with its own Float32Array & co. The native
// onnxruntime binding creates output tensors with the main context's typed arrays, which then
// fail onnxruntime-common's `instanceof Float32Array` check inside the test's context ("A float32
// tensor's data must be type of Float32Array"). Sharing the main context's typed-array
// constructors with the test context makes both sides agree; nothing else changes.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OnnxRuntimeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxRuntimeEnvironment;
