"""Singer tap for Zendesk Support tickets, built on the Meltano Singer SDK."""
