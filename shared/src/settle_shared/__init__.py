"""Building blocks shared by Settle's services. No domain logic lives here."""
