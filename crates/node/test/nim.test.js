// The nim module against a real server: two accounts talk to each other,
// and every ret field the seed lists is checked with the seed's types.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const nim = require('..');
const { startServer } = require('./support/server');

let server;
let alice;
let bob;
let tokens;

function waitFor(register, predicate = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('listener did not fire')), ms);
    register((ret) => {
      if (predicate(ret)) {
        clearTimeout(timer);
        resolve(ret);
      }
    });
  });
}

function assertMessage(m) {
  assert.equal(typeof m.messageId, 'string');
  assert.equal(typeof m.messageType, 'number');
  assert.equal(typeof m.from, 'string');
  assert.equal(typeof m.text, 'string');
  assert.equal(typeof m.timestamp, 'number');
  assert.equal(typeof m.sessionId, 'string');
  assert.equal(typeof m.sessionType, 'number');
  for (const flag of ['isOutgoingMsg', 'isReceivedMsg', 'isDeleted', 'isPlayed', 'isRemoteRead']) {
    assert.equal(typeof m[flag], 'boolean', flag);
  }
  assert.equal(m.isOutgoingMsg, !m.isReceivedMsg);
  assert.equal(typeof m.senderName, 'string');
}

before(async () => {
  server = await startServer();
  tokens = { alice: await server.createAccount('alice'), bob: await server.createAccount('bob') };
  alice = nim; // the module itself, as apps use it
  bob = new nim.Nim();
  alice.init({ appKey: server.appKey, server: server.tcp, dataDir: path.join(server.dir, 'alice') });
  bob.init({ appKey: server.appKey, server: `ws://${server.http}/ws`, dataDir: path.join(server.dir, 'bob'), clientType: 'web' });
});

after(async () => {
  await alice.logout().catch(() => {});
  await bob.logout().catch(() => {});
  await server.stop();
});

test('login with a callback: ret {status, userId}; onIMLogin steps; isLogined', async () => {
  const steps = [];
  const synced = waitFor((cb) => alice.onIMLogin(cb), (ret) => {
    steps.push(ret.step);
    return ret.step === 8;
  });
  assert.equal(alice.isLogined(), false);
  const ret = await new Promise((resolve, reject) => {
    alice.login({ userId: 'alice', password: tokens.alice }, (ret, err) => (err ? reject(err) : resolve(ret)));
  });
  assert.deepEqual(ret, { status: true, userId: 'alice' });
  await synced;
  assert.deepEqual(steps.slice(0, 4), [1, 2, 4, 5]);
  assert.equal(typeof steps[0], 'number');
  assert.equal(alice.isLogined(), true);
  // Promise style.
  assert.deepEqual(await bob.login({ userId: 'bob', password: tokens.bob }), { status: true, userId: 'bob' });
});

test('sendText: ret message fields; peer gets onRecvIMMessages; willSendIMMessage fires', async () => {
  const received = waitFor((cb) => bob.onRecvIMMessages(cb));
  const willSend = waitFor((cb) => alice.willSendIMMessage(cb));
  const ret = await alice.sendText({ sessionId: 'bob', sessionType: 0, content: '你好 bob', ext: { mood: 'happy' } });
  assert.equal(ret.status, true);
  assertMessage(ret.message);
  assert.equal(ret.message.messageType, 0);
  assert.equal(ret.message.from, 'alice');
  assert.equal(ret.message.text, '你好 bob');
  assert.equal(ret.message.sessionId, 'bob');
  assert.deepEqual(ret.message.ext, { mood: 'happy' });

  const will = await willSend;
  assert.deepEqual(
    { messageId: will.messageId, messageType: will.messageType, sessionId: will.sessionId, sessionType: will.sessionType, content: will.content },
    { messageId: ret.message.messageId, messageType: 0, sessionId: 'bob', sessionType: 0, content: '你好 bob' },
  );
  const got = await received;
  assert.ok(Array.isArray(got.messages));
  const m = got.messages[0];
  assertMessage(m);
  assert.equal(m.messageId, ret.message.messageId);
  assert.equal(m.from, 'alice');
  assert.equal(m.sessionId, 'alice');
  assert.equal(m.text, '你好 bob');
  assert.deepEqual(m.ext, { mood: 'happy' });
});

test('sendTips and sendCustomMessage', async () => {
  const tip = await alice.sendTips({ sessionId: 'bob', sessionType: 0, content: 'a tip' });
  assert.equal(tip.message.messageType, 10);
  const custom = await alice.sendCustomMessage({ sessionId: 'bob', sessionType: 0, attachment: { card: 7 } });
  assert.equal(custom.message.messageType, 100);
  assert.deepEqual(custom.message.attachment, { card: 7 });
});

test('allRecentSession, markAllMessagesReadInSession, deleteRecentSession', async () => {
  // Wait until bob holds all three messages.
  for (let i = 0; i < 100; i++) {
    const h = await bob.queryMessageHistory({ sessionId: 'alice', sessionType: 0 });
    if (h.messages.length === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const recent = await bob.allRecentSession();
  assert.equal(recent.status, true);
  assert.equal(recent.messages.length, 1);
  const s = recent.messages[0];
  assert.equal(typeof s.sessionType, 'number');
  assert.equal(s.unreadCount, 3);
  assertMessage(s.lastMessage);
  assert.equal(s.lastMessage.messageType, 100);

  assert.deepEqual(await bob.markAllMessagesReadInSession({ sessionId: 'alice', sessionType: 0 }), { status: true });
  assert.equal((await bob.allRecentSession()).messages[0].unreadCount, 0);
  assert.deepEqual(await bob.deleteRecentSession({ sessionId: 'alice', sessionType: 0 }), { status: true });
  assert.deepEqual((await bob.allRecentSession()).messages, []);
});

test('queryMessageHistory and queryMessageHistoryByTyps', async () => {
  const all = await bob.queryMessageHistory({ sessionId: 'alice', sessionType: 0, limit: '100' });
  assert.equal(all.status, true);
  assert.deepEqual(all.messages.map((m) => m.messageType), [0, 10, 100]);
  all.messages.forEach(assertMessage);
  const older = await bob.queryMessageHistory({ sessionId: 'alice', sessionType: 0, messageId: all.messages[2].messageId });
  assert.equal(older.messages.length, 2);
  const tips = await bob.queryMessageHistoryByTyps({ sessionId: 'alice', sessionType: 0, types: [10] });
  assert.deepEqual(tips.messages.map((m) => m.text), ['a tip']);
});

test('fetchMessageHistory: cloud pages, newest first or oldest first, by type', async () => {
  const newest = await bob.fetchMessageHistory({ sessionId: 'alice', sessionType: 0, limit: '2' });
  assert.equal(newest.status, true);
  assert.equal(newest.hasMore, true);
  assert.deepEqual(newest.messages.map((m) => m.messageType), [100, 10]);
  newest.messages.forEach(assertMessage);
  const rest = await bob.fetchMessageHistory({ sessionId: 'alice', sessionType: 0, anchorSeq: newest.messages[1].seq, sync: true });
  assert.deepEqual(rest.messages.map((m) => m.messageType), [0]);
  assert.equal(rest.hasMore, false);
  const oldest = await bob.fetchMessageHistory({ sessionId: 'alice', sessionType: 0, ascending: true, startTime: newest.messages[1].timestamp, types: [100] });
  assert.deepEqual(oldest.messages.map((m) => m.messageType), [100]);
  await assert.rejects(bob.fetchMessageHistory({ sessionId: 'alice', sessionType: 0, limit: '101' }), (e) => e.errorCode === 414);
  await assert.rejects(bob.fetchMessageHistory({ sessionId: 'alice', sessionType: 0, startTime: 9, endTime: 5 }), (e) => e.errorCode === 414);
});

test('sendMessageReceipt and onIMRecvMessageReceipt', async () => {
  const got = waitFor((cb) => bob.onRecvIMMessages(cb), (ret) => ret.messages.some((m) => m.text === 'read me'));
  await alice.sendText({ sessionId: 'bob', sessionType: 0, content: 'read me' });
  const message = (await got).messages.find((m) => m.text === 'read me');
  const heard = waitFor((cb) => alice.onIMRecvMessageReceipt(cb), (ret) => ret.messageId === message.messageId);
  assert.deepEqual(await bob.sendMessageReceipt({ messageId: message.messageId }), { status: true });
  const ret = await heard;
  assert.deepEqual(ret, { timestamp: message.timestamp, messageId: message.messageId, sessionId: 'bob' });
  const mine = await alice.queryMessageHistory({ sessionId: 'bob', sessionType: 0, limit: '1' });
  assert.equal(mine.messages[0].isRemoteRead, true);
  await assert.rejects(alice.sendMessageReceipt({ messageId: message.messageId }), (e) => e.errorCode === 414);
});

test('revokeMessage and onIMRecvRevokeMessageNotification', async () => {
  const got = waitFor((cb) => bob.onRecvIMMessages(cb), (ret) => ret.messages.some((m) => m.text === 'take it back'));
  const sent = await alice.sendText({ sessionId: 'bob', sessionType: 0, content: 'take it back' });
  await got;
  const heard = waitFor((cb) => bob.onIMRecvRevokeMessageNotification(cb), (ret) => ret.message.messageId === sent.message.messageId);
  assert.deepEqual(await alice.revokeMessage({ messageId: sent.message.messageId, postscript: 'typo' }), { status: true });
  const ret = await heard;
  assert.equal(ret.status, true);
  assert.equal(ret.message.text, 'take it back');
  assert.equal(ret.fromUserId, 'alice');
  assert.equal(ret.postscript, 'typo');
  const now = await bob.queryMessageHistory({ sessionId: 'alice', sessionType: 0, limit: '1' });
  assert.equal(now.messages[0].messageType, 5);
  await assert.rejects(bob.revokeMessage({ messageId: sent.message.messageId }), (e) => e.errorCode === 414);
});

test('clearChattingHistory empties a session on this device only', async () => {
  assert.deepEqual(await alice.clearChattingHistory({ sessionId: 'bob', sessionType: 0 }), { status: true });
  const left = await alice.queryMessageHistory({ sessionId: 'bob', sessionType: 0, limit: '100' });
  assert.equal(left.messages.length, 0);
  const still = await bob.queryMessageHistory({ sessionId: 'alice', sessionType: 0, limit: '100' });
  assert.ok(still.messages.length > 0);
  await assert.rejects(alice.clearChattingHistory({ sessionId: 'bob' }), (e) => e.errorCode === 414);
});

test('errors: (ret, err) with errorCode; Promise rejections; not supported yet', async () => {
  const [ret, err] = await new Promise((resolve) => alice.sendText({ sessionId: 'bob', content: 'x' }, (ret, err) => resolve([ret, err])));
  assert.equal(ret.status, false);
  assert.deepEqual(err, { errorCode: 414, errorMessage: 'sessionType is required' });
  await assert.rejects(alice.sendText({ sessionId: 'nobody', sessionType: 0, content: 'x' }), (e) => e.errorCode === 404);
  await assert.rejects(alice.sendText({ sessionId: 'bob', sessionType: 0, content: 'x'.repeat(5001) }), (e) => e.errorCode === 414);
  await assert.rejects(alice.createTeam({ name: 't', users: [] }), (e) => e.errorCode === 501 && /not supported yet/.test(e.errorMessage));
  assert.throws(() => alice.onIMTeamRemoved(() => {}), (e) => e.errorCode === 501);
  assert.throws(() => alice.init({ appKey: 'k', server: 'nowhere', dataDir: '/tmp/x' }), (e) => e.errorCode === 414);
  const stranger = new nim.Nim();
  await assert.rejects(stranger.login({ userId: 'alice', password: 'x' }), (e) => e.errorCode === 414 && /init/.test(e.errorMessage));
  assert.throws(() => stranger.init({ appKey: 'k', server: '127.0.0.1:1', dataDir: '/tmp/x', clientType: 'fax' }), /clientType/);
  assert.equal(nim.catalogue.filter((m) => m.seed).length, 125);
});

test('updateMyUserInfo, onUserInfoUpdate on my other device, fetchUserInfos, userInfo', async () => {
  const phone = new nim.Nim();
  phone.init({ appKey: server.appKey, server: `http://${server.http}`, dataDir: path.join(server.dir, 'alice-phone'), clientType: 'ios' });
  await phone.login({ userId: 'alice', password: tokens.alice });
  const heard = waitFor((cb) => phone.onUserInfoUpdate(cb), (ret) => ret.nickName === 'Alice');
  const ret = await alice.updateMyUserInfo({ nickname: 'Alice', gender: 2, email: 'alice@example.com', birth: '1990-01-31', mobile: '+(86)-13055555555', ext: { team: 'red' } });
  assert.deepEqual(ret, { status: true });
  const user = await heard;
  assert.equal(user.account, 'alice');
  for (const field of ['nickName', 'avatarUrl', 'sign', 'email', 'birth', 'mobile', 'ext', 'account']) {
    assert.equal(typeof user[field], 'string', field);
  }
  assert.equal(user.gender, 2);
  assert.deepEqual(JSON.parse(user.ext), { team: 'red' });

  await assert.rejects(alice.updateMyUserInfo({ birth: '2023-02-30' }), (e) => e.errorCode === 414 && /birth/.test(e.errorMessage));
  const fetched = await bob.fetchUserInfos({ userIds: ['alice', 'nobody'] });
  assert.equal(fetched.status, true);
  assert.equal(fetched.message.length, 1);
  assert.equal(fetched.message[0].nickName, 'Alice');
  assert.equal(fetched.message[0].birth, '1990-01-31');
  const local = await bob.userInfo({ userId: 'alice' });
  assert.equal(local.userId, 'alice');
  assert.equal(local.userInfo.email, 'alice@example.com');
  assert.equal(typeof local.notifyForNewMsg, 'boolean');
  assert.equal(typeof local.isInMyBlackList, 'boolean');
  assert.equal((await bob.userInfo({ userId: 'nobody' })).userInfo, null);
  await phone.logout();
});

test('requestFriend, notifications, blacklist, isMyFriend, custom notifications', async () => {
  const request = waitFor((cb) => bob.onIMSystemMessageRecieved(cb), (ret) => ret.sourceID === 'alice');
  assert.deepEqual(await alice.requestFriend({ userId: 'bob', operation: 2, message: 'hello' }), { status: true });
  const note = await request;
  assert.equal(note.type, 5);
  assert.equal(note.postscript, 'hello');
  assert.equal(typeof note.messageId, 'string');
  assert.equal(typeof note.timestamp, 'number');
  assert.equal(note.read, false);
  assert.equal((await bob.allNotificationsUnreadCount()).count, 1);
  await bob.setSystemMessageRead({ messageId: note.messageId });
  await bob.requestFriend({ userId: 'alice', operation: 3, message: '' });
  assert.equal(bob.isMyFriend({ account: 'alice' }), true);
  const friends = await bob.myFriends();
  assert.equal(friends.users[0].account, 'alice');
  const listed = await bob.fetchSystemNotifications({ limit: 10 });
  assert.equal(listed.notifications[0].status, 1);
  assert.equal(listed.notifications[0].read, true);

  const changed = waitFor((cb) => bob.onBlackListChanged(cb), (ret) => ret.userId === 'alice');
  await bob.addToBlackList({ userId: 'alice' });
  assert.equal((await changed).isInBlackList, true);
  await assert.rejects(alice.sendText({ sessionId: 'bob', sessionType: 0, content: 'blocked?' }), (e) => e.errorCode === 7101);
  assert.equal((await bob.isUserInBlackList({ userId: 'alice' })).status, true);
  await bob.removeFromBlackBlackList({ userId: 'alice' });
  await bob.updateNotifyStateForUser({ userId: 'alice', notify: false });
  assert.equal((await bob.notifyForNewMsgForUser({ userId: 'alice' })).status, false);
  await bob.updateNotifyStateForUser({ userId: 'alice', notify: true });

  const custom = waitFor((cb) => alice.onCustomNotification(cb), (ret) => ret.from === 'bob');
  await bob.sendCustomNotification({ to: 'alice', content: { typing: true }, onlineOnly: true });
  assert.deepEqual(JSON.parse((await custom).content), { typing: true });

  await assert.rejects(alice.requestFriend({ userId: 'alice', operation: 1 }), (e) => e.errorCode === 414);
  await bob.deleteFriend({ userId: 'alice' });
  assert.equal(bob.isMyFriend({ account: 'alice' }), false);
  await bob.deleteAllNotifications();
  assert.equal((await bob.fetchSystemNotifications()).notifications.length, 0);
});

test('index.d.ts declares every method and listener of the catalogue', () => {
  const types = require('node:fs').readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const { name } of nim.catalogue) {
    assert.match(types, new RegExp(`\\b${name}\\(`), name);
  }
});

test('onKick: another desktop login of the same account kicks this one', async () => {
  const token = await server.createAccount('carol');
  const first = new nim.Nim();
  first.init({ appKey: server.appKey, server: server.tcp, dataDir: path.join(server.dir, 'carol-1') });
  await first.login({ userId: 'carol', password: token });
  const kicked = waitFor((cb) => first.onKick(cb));
  const second = new nim.Nim();
  second.init({ appKey: server.appKey, server: server.tcp, dataDir: path.join(server.dir, 'carol-2') });
  await second.login({ userId: 'carol', password: token });
  assert.deepEqual(await kicked, { code: 1 });
  await second.logout();
});
