<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Customers and products of a company (erp.incwo.referential.{company}). */
final class ReferentialMessage extends AbstractSyncMessage
{
    public const FAMILY = 'referential';
}
