"""Product images as a service layer: fetching catalog photos, decoding and measuring them, drawing
infographics, and the object store (local folder or S3-compatible) with content-addressed keys.

Pure rules (sizes, formats, checks, which facts to draw) live in ``aimanager.domain.images``; the
capability that runs all this as jobs is ``aimanager.pipelines.capabilities.images``.
"""
