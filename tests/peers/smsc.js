#!/usr/bin/env node
// A fake SMSC for the SMPP adapter's tests and benchmarks, built on node-smpp (npm "smpp"): a real
// SMPP stack written by others, so our client is not only tested against our own understanding.
//
// It misbehaves on purpose, the way real SMSCs do: throttles, rejects destinations, drops the
// connection in the middle of a burst, sends receipts late, early (before the submit_sm_resp), out
// of order, with TLVs or as garbage.
//
// Usage: node smsc.js '{"port": 40123, ...config}'      (see DEFAULTS below)
// Prints "READY <port>" on stdout once listening. Reads JSON lines on stdin:
//   {"set": {...}}          merge into the config (e.g. {"set": {"drop_after": 100}})
//   {"cmd": "stats"}        print "STATS {...}" on stdout
//   {"cmd": "drop"}         destroy every connection now
//   {"cmd": "deliver", "text": "...", "tlvs": {...}, "system_id": "..."}   one deliver_sm (esm_class
//                          0x04) as given, to that system_id's receiving bind (default: any)
//   {"cmd": "reset"}        zero the counters
// Exits when stdin closes (the test runner died) or on SIGTERM.
'use strict';

const smpp = require('smpp');
const readline = require('readline');

const DEFAULTS = {
  host: '127.0.0.1',
  port: 2775,
  accounts: { '*': 'secret' },    // system_id -> password ('*': any system_id); else ESME_RBINDFAIL
  hex_ids: false,                 // message ids in hex (like many SMSCs) instead of decimal
  id_start: 1000,
  receipt_delay_ms: 20,           // after the submit_sm_resp; 0 = same tick
  receipt_before_resp: false,     // the receipt is written before the submit_sm_resp
  receipt_out_of_order: false,    // hold receipts and release each batch in reverse order
  receipt_batch_ms: 30,
  receipt_tlvs: false,            // add receipted_message_id (0x001E) and message_state (0x0427)
  receipt_tlv_id_differs: false,  // text carries a wrong id, only the TLV the right one
  receipts: true,
  date_digits: 10,                // 10 (YYMMDDhhmm) or 12 (YYMMDDhhmmss)
  stat_by_prefix: {},             // destination prefix -> stat (default DELIVRD)
  garbage_every: 0,               // every Nth receipt is preceded by an unparseable deliver_sm
  throttle_every: 0,              // every Nth submit_sm answered ESME_RTHROTTLED
  throttle_above_tps: 0,          // submits above this rate (1 s buckets) answered ESME_RTHROTTLED
  queue_full_every: 0,            // every Nth submit_sm answered ESME_RMSGQFUL
  reject_prefixes: [],            // destinations answered ESME_RINVDSTADR
  drop_after: 0,                  // destroy the connection after this many more submit_sm (once)
  drop_holds_last: true,          // the submit that triggers the drop gets no response
  stall: false,                   // read submit_sm but never answer (response timeouts)
  track_bodies: false,            // count submits per short_message, to find duplicates
};

const config = Object.assign({}, DEFAULTS, JSON.parse(process.argv[2] || '{}'));
let stats;
let nextId = config.id_start;
const sessions = new Set();
let pendingReceipts = [];   // receipts due while no receiving session was bound
let heldReceipts = [];      // out-of-order mode: released in reverse every receipt_batch_ms
let secondBucket = 0;
let secondCount = 0;

function resetStats() {
  stats = {
    binds: 0, bind_failures: 0, unbinds: 0, enquire_links: 0, submits: 0, accepted: 0,
    throttled: 0, queue_full: 0, rejected: 0, drops: 0, receipts_sent: 0, receipts_acked: 0,
    garbage_sent: 0, garbage_acked: 0, delivers_sent: 0, delivers_acked: 0, connections: 0, bodies: {}, parts: [],
  };
}
resetStats();

function pad(n, width) { return String(n).padStart(width, '0'); }

function smppDate(d) {
  const base = pad(d.getUTCFullYear() % 100, 2) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) + pad(d.getUTCMinutes(), 2);
  return config.date_digits === 12 ? base + pad(d.getUTCSeconds(), 2) : base;
}

function statFor(destination) {
  for (const [prefix, stat] of Object.entries(config.stat_by_prefix)) {
    if (destination.startsWith(prefix)) return stat;
  }
  return 'DELIVRD';
}

const MESSAGE_STATE = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function receiptFor(id, submit, submittedAt) {
  const stat = statFor(submit.destination_addr);
  const err = stat === 'DELIVRD' ? '000' : '001';
  const textId = config.receipt_tlv_id_differs ? 'X' + id : id;
  const text = `id:${textId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
    `submit date:${smppDate(submittedAt)} done date:${smppDate(new Date())} stat:${stat} err:${err} text:`;
  const receipt = { system_id: submit.system_id, destination: submit.destination_addr, source: submit.source_addr, text };
  if (config.receipt_tlvs) receipt.tlvs = { receipted_message_id: id, message_state: MESSAGE_STATE[stat] };
  return receipt;
}

function receiverFor(systemId) {
  for (const s of sessions) {
    if (s.bound && s.systemId === systemId && s.canReceive && !s.socket.destroyed) return s;
  }
  return null;
}

function sendReceipt(receipt) {
  const session = receiverFor(receipt.system_id);
  if (!session) { pendingReceipts.push(receipt); return; }
  if (config.garbage_every && (stats.receipts_sent + 1) % config.garbage_every === 0) {
    stats.garbage_sent += 1;
    session.deliver_sm({
      source_addr: receipt.destination, destination_addr: receipt.source, esm_class: 0x04,
      short_message: Buffer.from('this is no receipt \u00ff at all', 'latin1'),
    }, (resp) => { if (resp.command_status === 0) stats.garbage_acked += 1; });
  }
  const options = {
    source_addr: receipt.destination, destination_addr: receipt.source, esm_class: 0x04,
    short_message: Buffer.from(receipt.text, 'ascii'),
  };
  Object.assign(options, receipt.tlvs || {});
  session.inFlight.add(receipt);
  stats.receipts_sent += 1;
  const sent = session.deliver_sm(options, (resp) => {
    session.inFlight.delete(receipt);
    if (resp.command_status === 0) stats.receipts_acked += 1;
    else pendingReceipts.push(receipt);
  });
  if (!sent) { session.inFlight.delete(receipt); pendingReceipts.push(receipt); }
}

function scheduleReceipt(receipt) {
  if (!config.receipts) return;
  if (config.receipt_out_of_order) { heldReceipts.push(receipt); return; }
  if (config.receipt_delay_ms <= 0) { sendReceipt(receipt); return; }
  setTimeout(() => sendReceipt(receipt), config.receipt_delay_ms);
}

setInterval(() => {
  if (heldReceipts.length) {
    const batch = heldReceipts.reverse();
    heldReceipts = [];
    batch.forEach(sendReceipt);
  }
}, config.receipt_batch_ms).unref();

function flushPending() {
  const waiting = pendingReceipts;
  pendingReceipts = [];
  waiting.forEach(sendReceipt);
}

function overRate() {
  if (!config.throttle_above_tps) return false;
  const now = Math.floor(Date.now() / 1000);
  if (now !== secondBucket) { secondBucket = now; secondCount = 0; }
  secondCount += 1;
  return secondCount > config.throttle_above_tps;
}

function newId() {
  nextId += 1;
  return config.hex_ids ? nextId.toString(16).toUpperCase() : String(nextId);
}

function onSubmit(session, pdu) {
  stats.submits += 1;
  if (config.drop_after > 0) {
    config.drop_after -= 1;
    if (config.drop_after === 0) {
      stats.drops += 1;
      if (!config.drop_holds_last) accept(session, pdu);
      session.socket.destroy();
      return;
    }
  }
  if (config.stall) return;
  if (config.track_bodies) {
    const key = Buffer.isBuffer(pdu.short_message) ? pdu.short_message.toString('hex')
      : JSON.stringify(pdu.short_message);
    stats.bodies[key] = (stats.bodies[key] || 0) + 1;
  }
  if (config.throttle_every && stats.submits % config.throttle_every === 0 || overRate()) {
    stats.throttled += 1;
    session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
    return;
  }
  if (config.queue_full_every && stats.submits % config.queue_full_every === 0) {
    stats.queue_full += 1;
    session.send(pdu.response({ command_status: smpp.ESME_RMSGQFUL }));
    return;
  }
  if (config.reject_prefixes.some((p) => pdu.destination_addr.startsWith(p))) {
    stats.rejected += 1;
    session.send(pdu.response({ command_status: smpp.ESME_RINVDSTADR }));
    return;
  }
  accept(session, pdu);
}

function accept(session, pdu) {
  const id = newId();
  stats.accepted += 1;
  if (pdu.esm_class & 0x40) {
    const udh = pdu.short_message && pdu.short_message.udh;
    stats.parts.push({ id, data_coding: pdu.data_coding, udh: udh ? Buffer.concat(udh).toString('hex') : '' });
  }
  const receipt = receiptFor(id, { system_id: session.systemId, destination_addr: pdu.destination_addr,
    source_addr: pdu.source_addr }, new Date());
  if (pdu.registered_delivery & 0x01 && config.receipt_before_resp) {
    sendReceipt(receipt);
    session.send(pdu.response({ message_id: id }));
    return;
  }
  session.send(pdu.response({ message_id: id }));
  if (pdu.registered_delivery & 0x01) scheduleReceipt(receipt);
}

function onBind(session, pdu, canSend, canReceive) {
  const expected = pdu.system_id in config.accounts ? config.accounts[pdu.system_id] : config.accounts['*'];
  if (expected === undefined || expected !== pdu.password) {
    stats.bind_failures += 1;
    session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
    setTimeout(() => session.close(), 10);
    return;
  }
  stats.binds += 1;
  Object.assign(session, { bound: true, systemId: pdu.system_id, canSend, canReceive });
  session.send(pdu.response({ system_id: 'NODESMSC' }));
  if (canReceive) flushPending();
}

const server = smpp.createServer((session) => {
  stats.connections += 1;
  session.socket.setNoDelay(true);  // as real SMSCs do: Nagle would hold a resp behind a receipt
  session.inFlight = new Set();
  sessions.add(session);
  session.on('bind_transceiver', (pdu) => onBind(session, pdu, true, true));
  session.on('bind_transmitter', (pdu) => onBind(session, pdu, true, false));
  session.on('bind_receiver', (pdu) => onBind(session, pdu, false, true));
  session.on('submit_sm', (pdu) => {
    if (!session.bound || !session.canSend) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    onSubmit(session, pdu);
  });
  session.on('enquire_link', (pdu) => { stats.enquire_links += 1; session.send(pdu.response()); });
  session.on('unbind', (pdu) => {
    stats.unbinds += 1;
    session.bound = false;
    session.send(pdu.response());
    setTimeout(() => session.close(), 10);
  });
  session.on('unknown', (pdu) => session.send(pdu.response()));
  session.on('error', () => {});  // a reset from the client is normal here; 'close' follows
  session.on('close', () => {
    sessions.delete(session);
    // Receipts written but never acknowledged go out again on the next bind, as a real SMSC would.
    for (const r of session.inFlight) pendingReceipts.push(r);
    session.inFlight.clear();
  });
});

function dropAll() {
  stats.drops += 1;
  for (const s of sessions) s.socket.destroy();
}

function control(line) {
  if (!line.trim()) return;
  let msg;
  try { msg = JSON.parse(line); } catch (e) { console.log('ERROR bad control line'); return; }
  if (msg.set) Object.assign(config, msg.set);
  if (msg.cmd === 'stats') console.log('STATS ' + JSON.stringify(Object.assign({ pending: pendingReceipts.length,
    sessions: sessions.size }, stats)));
  else if (msg.cmd === 'drop') dropAll();
  else if (msg.cmd === 'reset') resetStats();
  else if (msg.cmd === 'deliver') {
    const session = [...sessions].find((s) => s.bound && s.canReceive &&
      (msg.system_id === undefined || s.systemId === msg.system_id));
    if (session) {
      stats.delivers_sent += 1;
      session.deliver_sm(Object.assign({ source_addr: '1', destination_addr: '2', esm_class: 0x04,
        short_message: Buffer.from(msg.text || '', 'latin1') }, msg.tlvs || {}), (resp) => {
        if (resp.command_status === 0) stats.delivers_acked += 1;
      });
    }
  }
  if (msg.cmd !== 'stats') console.log('OK');
}

function shutdown() {
  for (const s of sessions) s.socket.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}

readline.createInterface({ input: process.stdin }).on('line', control).on('close', shutdown);
process.on('SIGTERM', shutdown);
server.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(1); });
server.listen(config.port, config.host, () => console.log('READY ' + server.address().port));
