"""Batch engines: the async engine, planning and resume, progress, the OpenAI Batch API."""
