"""The FastAPI app: public agenda, exports, subscriber pages, organizer submission, admin."""
