"""The companies' extranet accounts: "Créer mon espace", login sessions, recovery and
activation links ("J'ai oublié…"), and the guarded reassignment of an account to a new
holder (case 2.1). Sits above ``tickets``: a reassignment starts from a ticket."""
