# enable_s3_sqs_trigger: log bucket notifications -> SQS (KMS, own dead-letter queue)
# -> the function, with partial batch responses; the role may read only AWSLogs/ of the
# log bucket and consume only that queue.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

override_resource {
  target          = aws_sqs_queue.log_files[0]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:111122223333:trailguard-log-files"
    id  = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-log-files"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-log-files"
  }
}

override_resource {
  target          = aws_sqs_queue.log_files_dead_letter[0]
  override_during = plan
  values = {
    arn = "arn:aws:sqs:eu-west-1:111122223333:trailguard-log-files-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-log-files-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-log-files-dlq"
  }
}

variables {
  lambda_zip_path       = "README.md"
  trail_log_group_name  = "CloudTrailLogs"
  trail_log_group_arn   = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs:*"
  enable_s3_sqs_trigger = true
  log_bucket_name       = "org-trail-logs"
  log_bucket_arn        = "arn:aws:s3:::org-trail-logs"
  trail_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/9f8e7d6c-5b4a-4321-8fed-cba987654321"
}

run "queue_and_its_dead_letter_queue" {
  command = plan

  assert {
    condition     = aws_sqs_queue.log_files[0].kms_master_key_id == aws_kms_key.this[0].arn && aws_sqs_queue.log_files_dead_letter[0].kms_master_key_id == aws_kms_key.this[0].arn
    error_message = "Both queues are encrypted with the module's key."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_policy.log_files[0].redrive_policy).deadLetterTargetArn == aws_sqs_queue.log_files_dead_letter[0].arn
    error_message = "The queue redrives to its own dead-letter queue."
  }
  assert {
    condition     = aws_sqs_queue_redrive_policy.log_files[0].queue_url == aws_sqs_queue.log_files[0].url
    error_message = "The redrive policy is the log-file queue's."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_policy.log_files[0].redrive_policy).maxReceiveCount >= 5
    error_message = "A message is tried at least 5 times before it is dead-lettered."
  }
  assert {
    condition     = aws_sqs_queue.log_files[0].visibility_timeout_seconds == 6 * 60
    error_message = "The visibility timeout is six times the function's timeout."
  }
  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.dead_letters) == ["function", "log_files"]
    error_message = "Both dead-letter queues are watched."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.dead_letters["log_files"].dimensions.QueueName == aws_sqs_queue.log_files_dead_letter[0].name
    error_message = "The second dead-letter alarm watches the log-file queue's dead-letter queue."
  }
  assert {
    condition     = output.s3_notification_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-log-files"
    error_message = "s3_notification_queue_url is the queue `trailguard backfill --queue` sends to."
  }
}

run "only_the_log_bucket_may_send" {
  command = plan

  assert {
    condition = one([
      for s in jsondecode(aws_sqs_queue_policy.log_files[0].policy).Statement : s if s.Effect == "Allow"
      ]) == {
      Sid       = "LogBucketNotifications"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:111122223333:trailguard-log-files"
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:s3:::org-trail-logs" } }
    }
    error_message = "The queue policy lets only the log bucket's notifications in."
  }
  assert {
    condition = contains(
      [for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Principal],
      { Service = "s3.amazonaws.com" },
    )
    error_message = "The key lets S3 write to the encrypted queue."
  }
}

run "bucket_notification" {
  command = plan

  assert {
    condition     = aws_s3_bucket_notification.log_bucket[0].bucket == "org-trail-logs"
    error_message = "The notification is on the log bucket."
  }
  assert {
    condition = (
      one(aws_s3_bucket_notification.log_bucket[0].queue).queue_arn == aws_sqs_queue.log_files[0].arn
      && one(aws_s3_bucket_notification.log_bucket[0].queue).events == toset(["s3:ObjectCreated:*"])
      && one(aws_s3_bucket_notification.log_bucket[0].queue).filter_prefix == "AWSLogs/"
    )
    error_message = "New objects under AWSLogs/ are notified to the queue."
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.log_files[0].event_source_arn == aws_sqs_queue.log_files[0].arn
    error_message = "The function reads the queue."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.log_files[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "ReportBatchItemFailures is required: without it Lambda deletes failed messages with the rest."
  }
}

run "role_reads_only_the_log_files" {
  command = plan

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "ReadTrailLogFiles"
    ]).Resource == "arn:aws:s3:::org-trail-logs/AWSLogs/*"
    error_message = "s3:GetObject only under AWSLogs/ of the log bucket."
  }
  assert {
    condition = toset(one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "ReadTrailLogFiles"
    ]).Action) == toset(["s3:GetObject", "s3:GetObjectVersion"])
    error_message = "Only object reads on the bucket."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "ConsumeLogFileQueue"
    ]).Resource == aws_sqs_queue.log_files[0].arn
    error_message = "The SQS consume actions only on the log-file queue."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "DecryptTrailLogFiles"
      ]) == {
      Sid       = "DecryptTrailLogFiles"
      Effect    = "Allow"
      Action    = "kms:Decrypt"
      Resource  = "arn:aws:kms:eu-west-1:111122223333:key/9f8e7d6c-5b4a-4321-8fed-cba987654321"
      Condition = { StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" } }
    }
    error_message = "kms:Decrypt on the trail's key, through S3 only."
  }
}

run "bucket_is_required" {
  command = plan

  variables {
    log_bucket_name = null
    log_bucket_arn  = null
  }

  expect_failures = [aws_sqs_queue.log_files]
}

run "bucket_name_and_arn_must_agree" {
  command = plan

  variables {
    log_bucket_arn = "arn:aws:s3:::another-bucket"
  }

  expect_failures = [aws_sqs_queue.log_files]
}
