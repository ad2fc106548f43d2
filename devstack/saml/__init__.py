"""A real SAML 2.0 identity provider built from pysaml2, for tests and `make run`:
``keys.py`` makes its throwaway signing key, ``idp.py`` is the IdP (configuration, assertion
issuing, and the small WSGI program that serves it). Started by ``devstack/saml_idp.py``."""
