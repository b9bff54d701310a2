"""trailguard: watch AWS CloudTrail and alert on infrastructure changes that matter.

Kept empty of imports on purpose: `trailguard.aws_lambda` is a cold-start path.
"""

__version__ = "0.1.0"
