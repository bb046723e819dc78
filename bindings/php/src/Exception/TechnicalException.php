<?php

declare(strict_types=1);

namespace Incwo\Connector\Exception;

/** A technical error: transport failure, timeout, 5xx, 429, bad credentials. */
final class TechnicalException extends IncwoException
{
}
