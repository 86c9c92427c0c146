"""Uploads a file through Garrison with tuspy, the Python tus client, over mutual TLS.

Run by tests/tus_client.rs: argument 1 is a JSON object of settings. With "slow", the upload
pauses after every chunk so the test can kill the process mid-upload; a second run with the
same URL storage resumes where the first stopped. Prints one JSON line: the upload URL and
the offset the run started from.
"""

import hashlib
import json
import os
import sys
import time

from tusclient import client
from tusclient.storage import filestorage
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    """Every chunk carries `Upload-Checksum: sha256 …` (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class SlowUploader(Sha256Uploader):
    def upload_chunk(self):
        super().upload_chunk()
        print(json.dumps({"progress": self.offset}), flush=True)
        time.sleep(0.1)


def main():
    settings = json.loads(sys.argv[1])
    # requests verifies the server against this bundle (verify=True honours it).
    os.environ["REQUESTS_CA_BUNDLE"] = settings["ca"]
    tus = client.TusClient(
        settings["url"],
        headers={"x-api-key": settings["api_key"]},
        client_cert=(settings["cert"], settings["key"]),
    )
    uploader_class = SlowUploader if settings["slow"] else Sha256Uploader
    uploader = uploader_class(
        file_path=settings["file"],
        client=tus,
        chunk_size=settings["chunk_size"],
        metadata={
            "recipient": settings["recipient"],
            "document_type": settings["document_type"],
            "filename": os.path.basename(settings["file"]),
        },
        store_url=True,
        url_storage=filestorage.FileStorage(settings["storage"]),
        upload_checksum=True,
    )
    start = uploader.offset if uploader.url else None
    uploader.upload()
    print(json.dumps({"url": uploader.url, "start": start, "end": uploader.offset}), flush=True)


if __name__ == "__main__":
    main()
