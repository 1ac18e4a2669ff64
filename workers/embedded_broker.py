"""The embedded broker (`make run` without Redis): kombu's filesystem transport, kept first in, first out.

kombu names each message file by `monotonic()` milliseconds and takes the folder's files in sorted order. That
clock restarts with the machine, and its digit count grows (9999 sorts after 10000), so after a reboot or
~2.8 hours of uptime newer messages could jump the queue. Here the name starts with the wall clock in
nanoseconds, zero-padded, so sorted order is publish order across restarts. A message is written under a
temporary name and renamed, so a reader never sees half a message.
"""

import os
import uuid
from time import time_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".{name}.tmp")  # "." first: never matches a queue
        try:
            with open(temporary, "wb") as f:
                f.write(dumps(payload).encode())
            os.replace(temporary, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
