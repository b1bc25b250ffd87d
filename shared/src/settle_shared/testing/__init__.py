"""Test fakes. Each passes the same contract tests as the real adapter it stands in for."""
