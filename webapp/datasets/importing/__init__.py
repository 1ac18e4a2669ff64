"""The machinery behind the import services (webapp/datasets/services.py is the public face):

- result.py: what an import returns (ImportResult) or raises when it refuses everything (ImportRejected);
- layout.py: the dataset layout rule (classifier.data, shared with the CLI), its refusals as ImportRejected;
- archive.py: the zip as a container (size, entries, paths, links, nesting, inflation) and reading its entries;
- storage.py: one photo checked, written to a staging area and, once its rows are committed, moved into place;
- orphans.py: files under the dataset media folders that no row owns (a killed import, a failed move);
- bucket.py: a bucket (S3 API) as a photo source: listed, checked, and read into a zip or a folder for the imports.
"""
