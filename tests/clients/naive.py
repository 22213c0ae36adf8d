"""A naive python-socketio client, as the published Spaces scripts are written: it emits
SUBSCRIBE_CHANNEL as soon as connect() returns, without waiting for the /chat
acknowledgement. Against a server that drops events sent before that acknowledgement,
the subscription is lost.

Usage: naive.py URL TOKEN SPACE_ID COUNT. Connects COUNT times in turn and prints one
JSON line: {"subscribed": N, "lost": M}.
"""
import json
import sys
import threading

import socketio

url, token, space, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
subscribed = 0
for _ in range(count):
    sio = socketio.Client()
    answered = threading.Event()

    @sio.on("CHANNEL_SUBSCRIBED", namespace="/chat")
    def on_subscribed(_payload):
        answered.set()

    sio.connect(f"{url}?token={token}&tokenType=jwt", namespaces=["/chat"])
    # No wait for the namespace's "connect" event: straight to the subscription.
    sio.emit("SUBSCRIBE_CHANNEL", {"channel": {"_id": space, "type": "topic"}}, namespace="/chat")
    if answered.wait(5):
        subscribed += 1
    sio.disconnect()
print(json.dumps({"subscribed": subscribed, "lost": count - subscribed}))
