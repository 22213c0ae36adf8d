// The seed tutorial flow with a real socket.io-client (2.x or 4.x), driven by the
// Rust tests: two sockets subscribe to one space; the sender sends a malformed
// payload, a message to a space it is not subscribed to, then a real message with
// loopbackMetadata and non-ASCII text. Prints what each socket saw as one JSON line.
const [url, version, senderToken, receiverToken, space] = process.argv.slice(2);
const client = require(version === 'v2' ? 'socket.io-client-v2' : 'socket.io-client-v4');

function connect(token, transports) {
  if (version === 'v2') {
    // Spaces clients pass the token in the query (it also travels in the CONNECT packet).
    return client.connect(url + '/chat', { query: 'token=' + token + '&tokenType=jwt', transports, forceNew: true });
  }
  return client.io(url + '/chat', { auth: { token, tokenType: 'jwt' }, transports, forceNew: true });
}

const seen = { sender: [], receiver: [], failures: [], errors: [] };
const sender = connect(senderToken, ['polling', 'websocket']);
const receiver = connect(receiverToken, ['websocket']);
let subscribed = 0;
const text = 'héllo wörld ✓ 👋';

function finish() {
  console.log(JSON.stringify(seen));
  sender.close();
  receiver.close();
  process.exit(0);
}

for (const [name, socket] of [['sender', sender], ['receiver', receiver]]) {
  socket.on('connect', () => socket.emit('SUBSCRIBE_CHANNEL', { channel: { _id: space, type: 'topic' } }));
  socket.on('connect_error', (e) => { seen.errors.push(name + ' connect_error ' + (e && e.message)); finish(); });
  socket.on('error', (e) => { seen.errors.push(name + ' error ' + JSON.stringify(e)); finish(); });
  socket.on('SUBSCRIBE_CHANNEL_FAILED', (p) => { seen.errors.push(name + ' subscribe failed ' + JSON.stringify(p)); finish(); });
  socket.on('CHANNEL_SUBSCRIBED', () => {
    subscribed += 1;
    if (subscribed === 2) {
      sender.emit('SEND_MESSAGE', 'not an object');
      sender.emit('SEND_MESSAGE', { category: 'chat', content: { bodyText: 'lost' }, topicId: '000000000000000000000000' });
      sender.emit('SEND_MESSAGE', { category: 'chat', content: { bodyText: text }, topicId: space, loopbackMetadata: { n: 1 } });
    }
  });
  socket.on('MESSAGE_SENT', (m) => {
    seen[name].push(m);
    if (seen.sender.length >= 1 && seen.receiver.length >= 1) setTimeout(finish, 200);
  });
}
sender.on('SEND_MESSAGE_FAILED', (p) => seen.failures.push(p));
setTimeout(() => { seen.errors.push('timed out'); finish(); }, 8000);
