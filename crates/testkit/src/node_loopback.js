// Preloaded with `node --require` by dmsrs-testkit: kinesis-local has no host
// option and listens on all interfaces, so force every TCP listen onto
// 127.0.0.1. Unix socket paths and handles are left alone.
'use strict';
const net = require('net');
const LOOPBACK = '127.0.0.1';
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (first.port !== undefined && first.path === undefined && first.handle === undefined && first._handle === undefined && first.fd === undefined) {
      args[0] = Object.assign({}, first, { host: LOOPBACK });
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)) || first === undefined) {
    if (typeof args[1] === 'string') {
      args[1] = LOOPBACK;
    } else {
      if (args.length === 0) args.push(0);
      args.splice(1, 0, LOOPBACK);
    }
  }
  return origListen.apply(this, args);
};
