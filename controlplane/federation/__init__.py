"""Federation: external token issuers Gatehouse trusts (an organisation's IdP) and which
service account each external client or subject stands for."""
