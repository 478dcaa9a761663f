"""The ocrfn serverless OCR function."""
