// Realtime scenarios with socket.io-client 4.x, driven by the Rust tests:
//   node scenarios.js URL SCENARIO JSON_ARGS
// Each prints one JSON line with what the sockets saw.
const { io } = require('socket.io-client-v4');
const [url, scenario, rawArgs] = process.argv.slice(2);
const args = JSON.parse(rawArgs);
const out = { errors: [] };
const sockets = [];

function connect(token) {
  const socket = io(url + '/chat', { auth: { token, tokenType: 'jwt' }, transports: ['websocket'], forceNew: true, reconnection: false });
  socket.on('connect_error', (e) => out.errors.push('connect_error ' + e.message));
  sockets.push(socket);
  return socket;
}
const once = (socket, event) => new Promise((resolve) => socket.once(event, resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function rest(method, path, token, body) {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: 'jwt ' + token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}
async function subscribe(socket, space, extra = {}) {
  if (!socket.connected) await once(socket, 'connect');
  socket.emit('SUBSCRIBE_CHANNEL', { channel: { _id: space, type: 'topic' }, ...extra });
  return once(socket, 'CHANNEL_SUBSCRIBED');
}
function collect(socket, event) {
  const list = [];
  socket.on(event, (payload) => list.push(payload));
  return list;
}

async function restStatus(method, path, token, body) {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: 'jwt ' + token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const scenarios = {
  // A short meeting as the web client walks it: the host's media connects (the meeting
  // starts), a guest joins and raises a hand, the host accepts and records, the guest
  // sends video.end, the host leaves: everyone logs MEDIA_SESSION_RESPONSE categories.
  async meeting() {
    const host = connect(args.host);
    const guest = connect(args.guest);
    await subscribe(host, args.space);
    await subscribe(guest, args.space);
    const hostSeen = collect(host, 'MEDIA_SESSION_RESPONSE');
    const guestSeen = collect(guest, 'MEDIA_SESSION_RESPONSE');
    const until = async (list, category, count = 1) => {
      for (let i = 0; i < 200 && list.filter((e) => e.category === category).length < count; i++) await sleep(25);
    };
    const tracks = (session) => ({
      category: 'tracksstatus', topicId: args.space, data: [], version: '1.1',
      content: { mediaSession: { audio: true, video: false, connected: true, screenshare: false, selfMuted: false, mdsrvSessionId: session } },
    });
    host.emit('SEND_MEDIA_SESSION_EVENTS', { ...tracks('host-session'), loopbackMetadata: { seq: 1 } });
    await until(guestSeen, 'tracksstatus');
    const meetingId = guestSeen[0].messageId;
    guest.emit('SEND_MEDIA_SESSION_EVENTS', tracks('guest-session'));
    await until(hostSeen, 'tracksstatus', 2);
    const base = `/api/spaces/${args.space}/meetings/${meetingId}`;
    out.raise = await restStatus('POST', `${base}/attendees/raisedhands`, args.guest, { requestedPermissions: ['PERMISSION_UNMUTE'] });
    out.guestRecords = await restStatus('POST', `${base}/recordings`, args.guest);
    out.accept = await restStatus('POST', `${base}/attendees/raisedhands/accept`, args.host, { grantedPermissions: ['PERMISSION_UNMUTE'], attendeeId: args.guestId, attendeeType: 'anonymous' });
    const recording = await restStatus('POST', `${base}/recordings`, args.host);
    out.recordingId = recording.body.data[0].content.recordings[0]._id;
    await restStatus('POST', `${base}/recordings/${out.recordingId}/stop`, args.host);
    await until(guestSeen, 'app.event.recording.ready');
    guest.emit('SEND_MEDIA_SESSION_EVENTS', { category: 'video.end', topicId: args.space, content: {} });
    await until(hostSeen, 'app.event.attendee.left');
    host.emit('SEND_MEDIA_SESSION_EVENTS', { category: 'video.end', topicId: args.space, content: {} });
    await until(guestSeen, 'app.event.meeting.ended');
    await sleep(200);
    out.host = hostSeen.map((e) => e.category);
    out.guest = guestSeen.map((e) => e.category);
    out.hostLoopback = hostSeen.filter((e) => e.loopbackMetadata).map((e) => e.loopbackMetadata);
    out.ended = guestSeen[guestSeen.length - 1];
    out.active = await restStatus('GET', `/api/spaces/${args.space}/activemeeting`, args.host);
  },
  // The seed's file flow: upload URL, PUT, a chat carrying the file, the other member
  // downloads it and its thumbnail; a guest who joined later and an outsider cannot.
  async files() {
    const fs = require('fs');
    const image = fs.readFileSync(args.imagePath);
    const sender = connect(args.sender);
    const receiver = connect(args.receiver);
    await subscribe(sender, args.space);
    await subscribe(receiver, args.space);
    const received = once(receiver, 'MESSAGE_SENT');
    const upload = await rest('POST', '/api/files/getuploadurl', args.sender, {
      files: [{ 'Content-Type': 'image/png', 'Content-Length': image.length }], topicId: args.space,
    });
    const { url: uploadUrl, fileKey } = upload.data[0];
    const put = await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: image });
    out.putStatus = put.status;
    sender.emit('SEND_MESSAGE', {
      content: {
        bodyText: 'hello',
        data: [{ fileId: fileKey, fileSize: image.length, fileType: 'image', name: 'sample-1.png', provider: 'native', providerFileType: 'image/png' }],
      },
      sender: { _id: '', type: 'user' },
      category: 'chat',
      topicId: args.space,
      loopbackMetadata: 'some metadata',
    });
    const message = await received;
    out.message = message;
    const attachment = message.content.data[0];
    const urls = await rest('POST', '/api/files/getdownloadurl', args.receiver, { fileKeys: [attachment.fileId, attachment.thumbnailFile] });
    const download = await fetch(urls.data[0].url);
    out.download = { status: download.status, type: download.headers.get('content-type'), disposition: download.headers.get('content-disposition'), sha256: require('crypto').createHash('sha256').update(Buffer.from(await download.arrayBuffer())).digest('hex') };
    const thumbnail = await fetch(urls.data[1].url);
    out.thumbnail = { status: thumbnail.status, type: thumbnail.headers.get('content-type'), length: (await thumbnail.arrayBuffer()).byteLength };
    const part = await fetch(urls.data[0].url, { headers: { range: 'bytes=0-7' } });
    out.range = { status: part.status, contentRange: part.headers.get('content-range'), base64: Buffer.from(await part.arrayBuffer()).toString('base64') };
    // Without server.public_url, socket payloads carry server-relative paths.
    const viaPath = await fetch(new URL(attachment.path, url), { headers: { authorization: 'jwt ' + args.receiver } });
    out.viaPath = { status: viaPath.status, length: (await viaPath.arrayBuffer()).byteLength };
    await rest('GET', '/api/spaces/' + args.space + '/join', args.guest);
    out.guest = await restStatus('POST', '/api/files/getdownloadurl', args.guest, { fileKeys: [fileKey] });
    out.outsider = await restStatus('POST', '/api/files/getdownloadurl', args.outsider, { fileKeys: [fileKey] });
    const outsiderPath = await fetch(new URL(attachment.path, url), { headers: { authorization: 'jwt ' + args.outsider } });
    out.outsiderPath = outsiderPath.status;
  },

  // The first message of a direct space reaches the other party unsubscribed.
  async direct() {
    const bob = connect(args.bob);
    const bobGot = collect(bob, 'MESSAGE_SENT');
    await once(bob, 'connect');
    const space = (await rest('GET', '/api/spaces/direct/user/' + args.bobId, args.alice)).data[0]._id;
    const alice = connect(args.alice);
    await subscribe(alice, space);
    alice.emit('SEND_MESSAGE', { category: 'chat', content: { bodyText: 'first DM' }, topicId: space });
    await sleep(500);
    out.space = space;
    out.bobGot = bobGot;
  },
  // Presence is relayed with the sender filled in; a disconnect is announced.
  async presence() {
    const alice = connect(args.alice);
    const bob = connect(args.bob);
    const aliceGot = collect(alice, 'PRESENCE_EVENT_RESPONSE');
    const bobGot = collect(bob, 'PRESENCE_EVENT_RESPONSE');
    await subscribe(alice, args.space);
    await subscribe(bob, args.space);
    bob.emit('SEND_PRESENCE_EVENT', { category: 'app.event.presence.party.online', topicId: args.space, content: { desktop: true }, receivers: [], sender: { _id: 'forged' } });
    await sleep(300);
    bob.close();
    await sleep(500);
    out.aliceGot = aliceGot;
    out.bobGot = bobGot;
  },
  // A reconnecting socket gets, in order, everything it missed.
  async catchup() {
    let alice = connect(args.alice);
    await subscribe(alice, args.space);
    const first = (await rest('POST', '/api/spaces/' + args.space + '/chats', args.alice, { content: { bodyText: 'one' } })).data._id;
    await sleep(200);
    alice.close();
    for (const text of ['two', 'three']) {
      await rest('POST', '/api/spaces/' + args.space + '/chats', args.owner, { content: { bodyText: text } });
    }
    alice = connect(args.alice);
    const got = collect(alice, 'MESSAGE_SENT');
    await subscribe(alice, args.space, { lastMessageId: first });
    await sleep(400);
    out.replayed = got.map((m) => m.content.bodyText);
  },
  // A removed user's sockets stop receiving the space at once.
  async kick() {
    const bob = connect(args.bob);
    await subscribe(bob, args.space);
    const unsubscribed = once(bob, 'CHANNEL_UNSUBSCRIBED');
    const got = collect(bob, 'MESSAGE_SENT');
    await rest('DELETE', '/api/spaces/' + args.space + '/attendees/userId/' + args.bobId, args.owner);
    out.unsubscribed = await Promise.race([unsubscribed, sleep(2000).then(() => null)]);
    await rest('POST', '/api/spaces/' + args.space + '/chats', args.owner, { content: { bodyText: 'secret' } });
    await sleep(400);
    out.bobGot = got;
  },
  // REST writes are announced like socket ones.
  async rest() {
    const alice = connect(args.alice);
    const got = collect(alice, 'MESSAGE_SENT');
    await subscribe(alice, args.space);
    await rest('POST', '/api/spaces/' + args.space, args.owner, { title: 'Renamed' });
    const task = (await rest('POST', '/api/spaces/' + args.space + '/tasks', args.owner, { content: { bodyText: 'do it' } })).data._id;
    await rest('DELETE', '/api/messages/' + task, args.owner);
    await sleep(500);
    out.got = got.map((m) => ({ category: m.category, deleted: m.deleted, title: m.topicTitle, id: m._id }));
    out.task = task;
  },
};

scenarios[scenario]()
  .catch((e) => out.errors.push(String(e && e.stack || e)))
  .finally(() => {
    console.log(JSON.stringify(out));
    for (const socket of sockets) socket.close();
    process.exit(0);
  });
setTimeout(() => { out.errors.push('timed out'); console.log(JSON.stringify(out)); process.exit(0); }, 10000);
