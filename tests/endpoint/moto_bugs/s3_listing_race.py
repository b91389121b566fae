"""moto bug: an S3 listing that races a DeleteObject fails (ListObjectVersions answers 500) instead of finishing.

`_VersionedKeyStore` copies its key table and then looks every listed name up again in the live table, so a key
deleted in between raises KeyError (seen as `terraform destroy`, which deletes a bucket's objects in parallel
while it lists their versions, getting HTTP 500). S3 lists the bucket as it was when the listing began.

Standalone (moto alone): `python s3_listing_race.py` exits non-zero on moto 5.2.5.
"""

from moto.s3.utils import _VersionedKeyStore

store = _VersionedKeyStore()
store["a"], store["b"], store["b"] = "a1", "b1", "b2"

versions, latest = store.iterlists(), store.items()  # two listings under way (ListObjectVersions, ListObjects)
started = [next(versions), next(latest)]
del store["a"], store["b"]  # DeleteObject requests answered meanwhile

assert [*started, *versions, *latest] == [("a", ["a1"]), ("a", "a1"), ("b", ["b1", "b2"]), ("b", "b2")]
assert list(store.values()) == []  # a listing that starts after the deletes sees none of it
