<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Json;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputArgument;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:publish FILE.jsonl`: publishes a batch (one `{"kind", "record"}`
 * per line) to the shard queues, one message per record, in input order.
 */
final class PublishCommand extends Command
{
    protected static $defaultName = 'incwo:publish';

    public function __construct(private readonly IntegrationPublisher $publisher)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this
            ->setDescription('Publishes a JSON Lines batch to the shard queues, one message per record')
            ->addArgument('file', InputArgument::REQUIRED, 'the batch (JSON Lines; - for stdin)');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        $file = (string) $input->getArgument('file');
        $handle = $file === '-' ? STDIN : @fopen($file, 'r');
        if ($handle === false) {
            $output->writeln("<error>incwo:publish: cannot read {$file}</error>");

            return 2;
        }
        $records = (static function () use ($handle): \Generator {
            while (($line = fgets($handle)) !== false) {
                if (trim($line) !== '') {
                    yield Json::decode($line);
                }
            }
        })();
        $started = microtime(true);
        $count = $this->publisher->publish($records);
        $output->writeln(sprintf('incwo:publish: %d record(s) published in %.1f s', $count, microtime(true) - $started));

        return 0;
    }
}
