"""``gatehouse``: the command line for people and scripts.

Talks to the control plane's REST API and the organisation's OpenID provider over HTTP
(stdlib ``urllib`` only) and never imports the control plane or Django: it is installed on
laptops that have neither.
"""
