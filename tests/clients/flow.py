"""The seed tutorial flow with a real python-socketio client (4.x speaks EIO3, 5.x EIO4).

Usage: flow.py URL SENDER_TOKEN RECEIVER_TOKEN SPACE_ID. Two clients subscribe to one
space; the sender sends a malformed payload, a message to a space it is not subscribed
to, then a real message with loopbackMetadata. Prints what each saw as one JSON line.
"""
import json
import sys
import threading

import socketio

url, sender_token, receiver_token, space = sys.argv[1:5]
seen = {"sender": [], "receiver": [], "failures": [], "errors": []}
subscribed = threading.Semaphore(0)
done = threading.Event()
text = "héllo wörld ✓ 👋"


def client(name, token):
    sio = socketio.Client()

    @sio.on("connect", namespace="/chat")
    def on_connect():
        sio.emit("SUBSCRIBE_CHANNEL", {"channel": {"_id": space, "type": "topic"}}, namespace="/chat")

    @sio.on("CHANNEL_SUBSCRIBED", namespace="/chat")
    def on_subscribed(_payload):
        subscribed.release()

    @sio.on("SUBSCRIBE_CHANNEL_FAILED", namespace="/chat")
    def on_subscribe_failed(payload):
        seen["errors"].append(f"{name} subscribe failed {payload}")
        done.set()

    @sio.on("MESSAGE_SENT", namespace="/chat")
    def on_message(message):
        seen[name].append(message)
        if seen["sender"] and seen["receiver"]:
            done.set()

    @sio.on("SEND_MESSAGE_FAILED", namespace="/chat")
    def on_failed(payload):
        seen["failures"].append(payload)

    # Spaces clients put the token in the handshake query.
    sio.connect(f"{url}?token={token}&tokenType=jwt", namespaces=["/chat"])
    return sio


sender = client("sender", sender_token)
receiver = client("receiver", receiver_token)
if subscribed.acquire(timeout=8) and subscribed.acquire(timeout=8):
    sender.emit("SEND_MESSAGE", "not an object", namespace="/chat")
    sender.emit("SEND_MESSAGE", {"category": "chat", "content": {"bodyText": "lost"}, "topicId": "0" * 24}, namespace="/chat")
    sender.emit("SEND_MESSAGE", {"category": "chat", "content": {"bodyText": text}, "topicId": space, "loopbackMetadata": {"n": 1}}, namespace="/chat")
    if not done.wait(8):
        seen["errors"].append("timed out")
else:
    seen["errors"].append("not subscribed in time")
done.wait(0.3)
print(json.dumps(seen))
sender.disconnect()
receiver.disconnect()
