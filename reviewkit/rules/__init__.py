"""The rule engine. Rule authors need only what is exported here:

    from reviewkit.rules import Rule

    RULE = Rule(id="mm/my-rule", severity="warning", scope="function", summary="one line",
                needs=("BUG_ON",))  # skipped on functions whose text holds none of these

    def check(ctx):            # ctx: reviewkit.rules.context.Context
        for call in ctx.calls(names={"BUG_ON"}):
            yield ctx.finding(call, "why this is wrong", suggestion="how to fix it")

The module docstring is the rule's documentation (what it checks, why, an
example, how to fix); `reviewkit rules --explain ID` prints it.
"""
from .context import Context, Rule, fingerprint, query

__all__ = ["Context", "Rule", "fingerprint", "query"]
