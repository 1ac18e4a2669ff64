"""Every web app test gets its own media folder."""

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(media_root):
    return media_root
