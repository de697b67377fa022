"""`reviewkit bot`: follow a list, review every new series version once, post the review.

- sources: new mails from a public-inbox archive on disk (v1/v2) or over HTTP (a lore list URL)
- store: the shared state (SQLite by default, PostgreSQL for several workers): mails, cursors,
  series versions, claims, results and posts
- scheduler: ingest -> plan (which series versions are ready) -> claim -> review -> post exactly once
- review: one series version through the lint/report pipeline
- posters: the reply mail, into a maildir, over SMTP, or printed (dry run)
- site: a static site of the reports, the b4 checks and an index of every series reviewed
"""
