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

// The addon's listeners do not keep Node's event loop alive (a process
// would never end). While an instance is logged in, or retrying its login,
// and has a listener registered, a timer keeps the process up, as a socket
// would; `logout` or a kick lets it end.
const FOREVER_MS = 2 ** 31 - 1;

class Nim {
  constructor() {
    this._native = new native.NativeNim();
    this._listeners = 0;
    this._loggedIn = false;
    this._keepAlive = null;
    this._native.listen('onKick', () => this._setLoggedIn(false));
  }

  _setLoggedIn(loggedIn) {
    this._loggedIn = loggedIn;
    this._holdOpen();
  }

  _holdOpen() {
    const wanted = this._loggedIn && this._listeners > 0;
    if (wanted && this._keepAlive === null) {
      this._keepAlive = setInterval(() => {}, FOREVER_MS);
    } else if (!wanted && this._keepAlive !== null) {
      clearInterval(this._keepAlive);
      this._keepAlive = null;
    }
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
      if (name === 'login') this._setLoggedIn(true);
      if (name === 'logout') this._setLoggedIn(false);
      const promise = new Promise((resolve, reject) => {
        this._native.call(name, encode(params), (text) => {
          const outcome = JSON.parse(text);
          if ('ret' in outcome) {
            resolve(outcome.ret);
          } else {
            if (name === 'login') this._setLoggedIn(false);
            reject(new NimError(outcome.err));
          }
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
      this._listeners += 1;
      this._holdOpen();
    };
  }
}

const nim = new Nim();
nim.Nim = Nim;
nim.NimError = NimError;
/** Every name with its kind and whether Tidings supports it yet. */
nim.catalogue = catalogue;
module.exports = nim;
