<?php

declare(strict_types=1);

namespace Incwo\Connector\Exception;

/** incwo's business state forbids the operation (the record goes to quarantine). */
final class BusinessException extends IncwoException
{
}
