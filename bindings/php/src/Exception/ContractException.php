<?php

declare(strict_types=1);

namespace Incwo\Connector\Exception;

/** The payload breaks the contract; getViolations() says where and why. */
final class ContractException extends IncwoException
{
}
