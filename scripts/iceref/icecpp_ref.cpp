// Reference for `make bench` (section 1): a pipelined chunk upload with the real ZeroC Ice 3.7
// C++11 runtime, shaped like ftclient/ftserver: the client keeps up to WINDOW `send` requests
// outstanding, waiting for each to be sent; the server's `send` is AMD, queued to worker threads
// that pwrite the chunk at its offset and then reply. No checksum, no resume, no commit protocol.
//
//   icecpp_ref server FILE                    prints "port N", serves until killed
//   icecpp_ref client FILE PORT CHUNK WINDOW  uploads FILE, then `finish`
#include <Ice/Ice.h>
#include "Sink.h"

#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <iostream>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std;

namespace
{

struct Job
{
    long long offset;
    Ice::ByteSeq bytes;
    function<void()> response;
};

class SinkI : public Ref::Sink
{
public:
    SinkI(int fd, int workers) : _fd(fd)
    {
        for (int i = 0; i < workers; ++i)
        {
            _threads.emplace_back([this] { run(); });
        }
    }

    void sendAsync(long long offset, Ice::ByteSeq bytes, function<void()> response,
                   function<void(exception_ptr)>, const Ice::Current&) override
    {
        lock_guard<mutex> lock(_mutex);
        _jobs.push_back(Job{offset, move(bytes), move(response)});
        _cond.notify_one();
    }

    void finish(const Ice::Current&) override
    {
        fsync(_fd);
    }

private:
    void run()
    {
        while (true)
        {
            Job job;
            {
                unique_lock<mutex> lock(_mutex);
                _cond.wait(lock, [this] { return !_jobs.empty(); });
                job = move(_jobs.front());
                _jobs.pop_front();
            }
            size_t done = 0;
            while (done < job.bytes.size())
            {
                ssize_t n = pwrite(_fd, job.bytes.data() + done, job.bytes.size() - done, job.offset + done);
                if (n <= 0)
                {
                    perror("pwrite");
                    exit(1);
                }
                done += static_cast<size_t>(n);
            }
            job.response();
        }
    }

    int _fd;
    mutex _mutex;
    condition_variable _cond;
    deque<Job> _jobs;
    vector<thread> _threads;
};

int server(const shared_ptr<Ice::Communicator>& communicator, const string& path)
{
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
    {
        perror(path.c_str());
        return 1;
    }
    auto adapter = communicator->createObjectAdapterWithEndpoints("Sink", "tcp -h 127.0.0.1 -p 0");
    adapter->add(make_shared<SinkI>(fd, 2), Ice::stringToIdentity("sink"));
    adapter->activate();
    auto endpoint = dynamic_pointer_cast<Ice::TCPEndpointInfo>(adapter->getEndpoints()[0]->getInfo());
    cout << "port " << endpoint->port << endl;
    communicator->waitForShutdown();
    return 0;
}

int client(const shared_ptr<Ice::Communicator>& communicator, const string& path, int port, size_t chunk, int window)
{
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0)
    {
        perror(path.c_str());
        return 1;
    }
    auto sink = Ice::checkedCast<Ref::SinkPrx>(
        communicator->stringToProxy("sink:tcp -h 127.0.0.1 -p " + to_string(port)));
    mutex m;
    condition_variable cond;
    int outstanding = 0;
    bool failed = false;
    vector<Ice::Byte> buffer(chunk);
    for (long long offset = 0;; offset += static_cast<long long>(chunk))
    {
        ssize_t n = pread(fd, buffer.data(), chunk, offset);
        if (n < 0)
        {
            perror("pread");
            return 1;
        }
        if (n == 0)
        {
            break;
        }
        {
            unique_lock<mutex> lock(m);
            cond.wait(lock, [&] { return outstanding < window || failed; });
            if (failed)
            {
                return 1;
            }
            ++outstanding;
        }
        auto sent = make_shared<bool>(false);
        sink->sendAsync(
            offset, Ice::ByteSeq(buffer.begin(), buffer.begin() + n),
            [&] {
                lock_guard<mutex> lock(m);
                --outstanding;
                cond.notify_all();
            },
            [&](exception_ptr) {
                lock_guard<mutex> lock(m);
                failed = true;
                cond.notify_all();
            },
            [&, sent](bool) {
                lock_guard<mutex> lock(m);
                *sent = true;
                cond.notify_all();
            });
        unique_lock<mutex> lock(m);
        cond.wait(lock, [&] { return *sent || failed; });  // pipelined AMI: wait until sent
    }
    {
        unique_lock<mutex> lock(m);
        cond.wait(lock, [&] { return outstanding == 0 || failed; });
        if (failed)
        {
            return 1;
        }
    }
    sink->finish();
    return 0;
}

}

int main(int argc, char* argv[])
{
    try
    {
        Ice::InitializationData init;
        init.properties = Ice::createProperties();
        init.properties->setProperty("Ice.MessageSizeMax", "65536");
        Ice::CommunicatorHolder holder(init);
        string mode = argc > 1 ? argv[1] : "";
        if (mode == "server" && argc == 3)
        {
            return server(holder.communicator(), argv[2]);
        }
        if (mode == "client" && argc == 6)
        {
            return client(holder.communicator(), argv[2], stoi(argv[3]), stoul(argv[4]), stoi(argv[5]));
        }
        cerr << "usage: icecpp_ref server FILE | client FILE PORT CHUNK WINDOW" << endl;
        return 2;
    }
    catch (const exception& e)
    {
        cerr << e.what() << endl;
        return 1;
    }
}
