// The `nim` module: seed 002's API on Tidings. Every method takes
// (params, callback(ret, err)) as in the seed; without a callback it returns
// a Promise of `ret` that rejects with `err`. Listeners take callback(ret).
// `init` stands in for the seed's config.xml.
'use strict';
const path = require('node:path');

const native = require(path.join(__dirname, 'tidings_nim.node'));

/** An `err` of the seed: { errorCode, errorMessage }. */
class NimError extends Error {
  constructor(err) {
    super(`${err.errorCode}: ${err.errorMessage}`);
    this.name = 'NimError';
    this.errorCode = err.errorCode;
    this.errorMessage = err.errorMessage;
  }
}

function encode(params) {
  if (params === undefined || params === null) return '{}';
  return JSON.stringify(params);
}

class Nim {
  constructor() {
    this._native = new native.NativeNim();
  }
}

const catalogue = JSON.parse(native.catalogue());

for (const { name, kind } of catalogue) {
  if (kind === 'call') {
    Nim.prototype[name] = function (params, callback) {
      if (typeof params === 'function') {
        callback = params;
        params = undefined;
      }
      const promise = new Promise((resolve, reject) => {
        this._native.call(name, encode(params), (text) => {
          const outcome = JSON.parse(text);
          if ('ret' in outcome) resolve(outcome.ret);
          else reject(new NimError(outcome.err));
        });
      });
      if (typeof callback !== 'function') return promise;
      promise.then(
        (ret) => callback(ret, undefined),
        (err) => callback({ status: false }, { errorCode: err.errorCode, errorMessage: err.errorMessage }),
      );
      return undefined;
    };
  } else if (kind === 'sync') {
    Nim.prototype[name] = function (params) {
      const outcome = JSON.parse(this._native.callSync(name, encode(params)));
      if ('err' in outcome) throw new NimError(outcome.err);
      return outcome.ret;
    };
  } else {
    Nim.prototype[name] = function (callback) {
      if (typeof callback !== 'function') {
        throw new NimError({ errorCode: 414, errorMessage: `${name} needs a callback function` });
      }
      const outcome = JSON.parse(this._native.listen(name, (text) => callback(JSON.parse(text))));
      if ('err' in outcome) throw new NimError(outcome.err);
    };
  }
}

const nim = new Nim();
nim.Nim = Nim;
nim.NimError = NimError;
/** Every name with its kind and whether Tidings supports it yet. */
nim.catalogue = catalogue;
module.exports = nim;
