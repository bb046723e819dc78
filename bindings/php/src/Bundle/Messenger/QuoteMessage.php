<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Messenger;

/** Quotes of a company (queue erp.incwo.quote.{company}). */
final class QuoteMessage extends AbstractSyncMessage
{
    public const FAMILY = 'quote';
}
