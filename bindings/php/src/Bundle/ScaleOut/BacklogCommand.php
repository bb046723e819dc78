<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\ScaleOut;

use Incwo\Connector\Core;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:backlog`: the depth of each shard queue (and the quarantine and
 * failure queues) as `integration_backlog_size{queue}` in Prometheus text
 * format, or JSON; `--output` writes it atomically to a file (for a
 * textfile collector).
 */
final class BacklogCommand extends Command
{
    protected static $defaultName = 'incwo:backlog';

    public function __construct(private readonly Core $core, private readonly ?string $dsn, private readonly int $shards = 4)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this
            ->setDescription('Prints the broker queue depths as integration_backlog_size{queue}')
            ->addOption('json', null, InputOption::VALUE_NONE, 'print {queue: size} as JSON')
            ->addOption('output', null, InputOption::VALUE_REQUIRED, 'write the Prometheus text to this file');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        if ($this->dsn === null || $this->dsn === '') {
            $output->writeln('<error>incwo:backlog: set incwo_connector.scale_out.amqp_dsn</error>');

            return 2;
        }
        $backlog = new BrokerBacklog($this->dsn, array_merge(Topology::queues($this->shards), ['incwo.quarantine', 'incwo.failed']));
        $sizes = $backlog->sizes();
        if ($input->getOption('json')) {
            $output->writeln(json_encode($sizes, JSON_THROW_ON_ERROR));

            return 0;
        }
        $text = $backlog->metrics($this->core, $sizes);
        $file = $input->getOption('output');
        if (is_string($file)) {
            $tmp = $file . '.' . getmypid() . '.tmp';
            file_put_contents($tmp, $text);
            rename($tmp, $file);
        } else {
            $output->write($text);
        }

        return 0;
    }
}
