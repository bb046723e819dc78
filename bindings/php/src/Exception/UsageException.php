<?php

declare(strict_types=1);

namespace Incwo\Connector\Exception;

/** The API was misused: bad JSON, unknown kind, invalid handle, bad checkpoint… */
final class UsageException extends IncwoException
{
}
