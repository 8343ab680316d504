"""The web pages, by subsystem. Views are thin: fetch with permission, read a form, call one service, answer.

A service's refusal is answered the same way everywhere (see `answer_refusal`): a conflict (the piece has moved
on) as a message on the piece's page, an input error on the form it belongs to, and anything a person may not do
as 403. The services have already written the refusal to the audit log.
"""
